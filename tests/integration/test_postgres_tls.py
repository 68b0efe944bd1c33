"""PostgreSQL TLS settings against the local server (127.0.0.1:5432, trust auth, database `test`).

The local server may run with or without TLS (`SHOW ssl`); both cases are asserted: `prefer` always connects,
`require` connects over TLS when the server offers it and otherwise fails with libpq's clear refusal.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from hub.db.engine import engine_for
from hub.settings import HubSettings

pytestmark = pytest.mark.integration

URL = "postgresql+psycopg://root@127.0.0.1:5432/test"


def server_ssl() -> bool:
    engine = engine_for(HubSettings(database=URL, database_sslmode="disable"))
    with engine.connect() as conn:
        on = conn.execute(text("SHOW ssl")).scalar_one() == "on"
    engine.dispose()
    return on


def connection_uses_tls(settings: HubSettings) -> bool:
    engine = engine_for(settings)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).scalar_one())
    finally:
        engine.dispose()


def test_sslmode_prefer_connects_whether_or_not_the_server_has_tls() -> None:
    assert connection_uses_tls(HubSettings(database=URL, database_sslmode="prefer")) == server_ssl()


def test_sslmode_require_uses_tls_or_fails_clearly() -> None:
    settings = HubSettings(database=URL, database_sslmode="require")
    if server_ssl():
        assert connection_uses_tls(settings) is True
    else:
        with pytest.raises(OperationalError, match="server does not support SSL, but SSL was required"):
            connection_uses_tls(settings)


def test_verify_full_without_the_ca_file_names_the_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "ca.crt"
    settings = HubSettings(database=URL, database_sslmode="verify-full", database_sslrootcert=missing)
    with pytest.raises(OperationalError, match=r"root certificate file .*ca\.crt.* does not exist|SSL"):
        connection_uses_tls(settings)


def test_the_settings_reach_the_engine_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """As the helm chart sets them (ConfigMap variables), through the engine every command builds."""
    monkeypatch.setenv("ONESTORY_DATABASE", URL)
    monkeypatch.setenv("ONESTORY_DATABASE_SSLMODE", "disable")
    assert connection_uses_tls(HubSettings()) is False
