"""Engine creation with the per-backend settings OneStory relies on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Engine, create_engine, event, make_url

if TYPE_CHECKING:
    from hub.settings import HubSettings


def _orjson_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def postgres_tls_args(settings: HubSettings) -> dict[str, str]:
    """libpq's TLS parameters from the settings (only those set): sslmode, sslrootcert, sslcert, sslkey."""
    given = {
        "sslmode": settings.database_sslmode,
        "sslrootcert": settings.database_sslrootcert,
        "sslcert": settings.database_sslcert,
        "sslkey": settings.database_sslkey,
    }
    return {name: str(value) for name, value in given.items() if value is not None}


def engine_for(settings: HubSettings, **kwargs: Any) -> Engine:
    """The engine of `settings.database_url()`, with its PostgreSQL TLS settings."""
    return make_engine(settings.database_url(), tls=postgres_tls_args(settings), **kwargs)


def make_engine(url: str, *, tls: Mapping[str, str] | None = None, **kwargs: Any) -> Engine:
    """`tls`: libpq TLS parameters (postgres_tls_args), given to psycopg as connect args; SQLite has none."""
    # Reading a child's timeline decodes four JSON columns per entry: orjson does it several times faster.
    kwargs.setdefault("json_deserializer", orjson.loads)
    # Writing them is the projector's hot path; orjson writes what json.dumps writes for these values.
    kwargs.setdefault("json_serializer", _orjson_text)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the API read while the worker writes; NORMAL sync is durable at checkpoints in WAL mode.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # In the URL's query, psycopg's dialect hands them to libpq as connect args, and an engine rebuilt from
    # `engine.url` (the rebuild's range processes) keeps them. Explicit settings win over the URL's own.
    return create_engine(make_url(url).update_query_dict(dict(tls or {})), pool_pre_ping=True, **kwargs)
