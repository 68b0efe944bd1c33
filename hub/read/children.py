"""Read models for the API: finding a child and reading their projected timeline. No HTTP here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, bindparam, select, type_coerce
from sqlalchemy.types import NullType

from hub.db.tables import child_identifiers, children, event_store, timeline_entries
from hub.disclosure.decide import aware
from hub.events.codec import EventCodec


def child_by_identifier(conn: Connection, system: str, value: str) -> str | None:
    return conn.execute(
        select(child_identifiers.c.child_id).where(
            child_identifiers.c.system == system, child_identifiers.c.value == value
        )
    ).scalar()


def child_exists(conn: Connection, child_id: str) -> bool:
    return conn.execute(select(children.c.child_id).where(children.c.child_id == child_id)).scalar() is not None


# Built once: every FHIR read of a child asks for its identifiers live, and building the statement cost more
# than running it.
_IDENTIFIERS = (
    select(child_identifiers.c.system, child_identifiers.c.value)
    .where(child_identifiers.c.child_id == bindparam("child_id"))
    .order_by(child_identifiers.c.system, child_identifiers.c.value)
)


def identifiers(conn: Connection, child_id: str) -> list[tuple[str, str]]:
    return [(r.system, r.value) for r in conn.execute(_IDENTIFIERS, {"child_id": child_id})]


def latest_subject(conn: Connection, codec: EventCodec, child_id: str) -> dict[str, Any] | None:
    """Demographics as the most recently recorded event gave them."""
    body = conn.execute(
        select(event_store.c.body)
        .where(event_store.c.child_id == child_id)
        .order_by(event_store.c.recorded_at.desc(), event_store.c.seq.desc())
        .limit(1)
    ).scalar()
    if body is None:
        return None
    subject: dict[str, Any] = codec.decode(body)["subject"]
    return subject


# What a read needs of an entry: not the per-class decisions (a read decides live) nor the bookkeeping.
_READ_COLUMNS = tuple(c for c in timeline_entries.c if c.name not in ("decisions", "policy_version", "status"))
_JSON_COLUMNS = frozenset(c.name for c in _READ_COLUMNS if isinstance(c.type, JSON))
# Fetched without SQLAlchemy's per-value result processing (the hot path of every read, 500 rows and four
# JSON documents per row): SQLite hands back text, decoded here with orjson; PostgreSQL's driver decodes
# JSON and timestamps itself.
_RAW = tuple(type_coerce(c, NullType()).label(c.name) for c in _READ_COLUMNS)


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _moment(value: Any) -> datetime | None:
    return aware(datetime.fromisoformat(value) if isinstance(value, str) else value)


def timeline(conn: Connection, child_id: str) -> list[dict[str, Any]]:
    """The child's active entries, newest first, as plain dicts with UTC-aware times and decoded JSON."""
    result = conn.execute(
        select(*_RAW)
        .where(timeline_entries.c.child_id == child_id, timeline_entries.c.status == "active")
        .order_by(timeline_entries.c.occurred_at.desc(), timeline_entries.c.entry_id)
    )
    keys = tuple(result.keys())
    json_at = [i for i, k in enumerate(keys) if k in _JSON_COLUMNS]
    time_at = keys.index("occurred_at")
    out = []
    for values in result.all():
        row = list(values)
        for i in json_at:
            row[i] = _json(row[i])
        row[time_at] = _moment(row[time_at])
        out.append(dict(zip(keys, row, strict=True)))
    return out
