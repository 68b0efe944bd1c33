"""PostgreSQL TLS settings → libpq connection parameters, given to psycopg by hub.db.engine (not SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.db.engine import engine_for, make_engine, postgres_tls_args
from hub.settings import HubSettings

PG = "postgresql+psycopg://onestory:pw@pg-rw.care:5432/onestory"


def connect_args(url: str, tls: dict[str, str] | None = None) -> dict[str, object]:
    engine = make_engine(url, tls=tls)
    _, kwargs = engine.dialect.create_connect_args(engine.url)
    kwargs.pop("context", None)
    return kwargs


def test_no_tls_settings_leave_libpq_defaults() -> None:
    assert postgres_tls_args(HubSettings(database=PG)) == {}
    assert "sslmode" not in connect_args(PG)


def test_verify_full_with_the_cluster_ca_and_a_client_certificate() -> None:
    settings = HubSettings(
        database=PG,
        database_sslmode="verify-full",
        database_sslrootcert=Path("/etc/onestory/database-ca/ca.crt"),
        database_sslcert=Path("/etc/onestory/database-client/tls.crt"),
        database_sslkey=Path("/etc/onestory/database-client/tls.key"),
    )
    tls = postgres_tls_args(settings)
    assert tls == {
        "sslmode": "verify-full",
        "sslrootcert": "/etc/onestory/database-ca/ca.crt",
        "sslcert": "/etc/onestory/database-client/tls.crt",
        "sslkey": "/etc/onestory/database-client/tls.key",
    }
    args = connect_args(PG, tls)
    assert {k: args[k] for k in tls} == tls
    assert (args["host"], args["user"], args["password"], args["dbname"]) == (
        "pg-rw.care",
        "onestory",
        "pw",
        "onestory",
    )
    engine = engine_for(settings)
    assert engine.url.query["sslmode"] == "verify-full"  # kept by engines rebuilt from engine.url (rebuild ranges)


def test_settings_win_over_the_urls_own_sslmode() -> None:
    args = connect_args(PG + "?sslmode=disable&application_name=hub", {"sslmode": "require"})
    assert args["sslmode"] == "require" and args["application_name"] == "hub"


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"])
def test_every_libpq_sslmode_is_a_setting(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONESTORY_DATABASE_SSLMODE", mode)
    assert postgres_tls_args(HubSettings()) == {"sslmode": mode}


def test_an_unknown_sslmode_is_refused() -> None:
    with pytest.raises(ValueError, match="sslmode"):
        HubSettings(database_sslmode="on")


def test_sqlite_ignores_the_tls_settings(tmp_path: Path) -> None:
    settings = HubSettings(data_dir=tmp_path, database_sslmode="verify-full")
    with engine_for(settings).connect() as conn:
        assert conn.exec_driver_sql("select 1").scalar() == 1
