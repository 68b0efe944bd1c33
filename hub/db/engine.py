"""Engine creation with the per-backend settings OneStory relies on."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event


def _orjson_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, **kwargs: Any) -> Engine:
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
    return create_engine(url, pool_pre_ping=True, **kwargs)
