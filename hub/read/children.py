"""Read models for the API: finding a child and reading their projected timeline. No HTTP here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from hub.db.tables import child_identifiers, children, event_store, timeline_entries
from hub.events.codec import EventCodec
from projections.disclosure import aware


def child_by_identifier(conn: Connection, system: str, value: str) -> str | None:
    return conn.execute(
        select(child_identifiers.c.child_id).where(
            child_identifiers.c.system == system, child_identifiers.c.value == value
        )
    ).scalar()


def child_exists(conn: Connection, child_id: str) -> bool:
    return conn.execute(select(children.c.child_id).where(children.c.child_id == child_id)).scalar() is not None


def identifiers(conn: Connection, child_id: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        select(child_identifiers.c.system, child_identifiers.c.value)
        .where(child_identifiers.c.child_id == child_id)
        .order_by(child_identifiers.c.system, child_identifiers.c.value)
    )
    return [(r.system, r.value) for r in rows]


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


def timeline(conn: Connection, child_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(timeline_entries)
        .where(timeline_entries.c.child_id == child_id, timeline_entries.c.status == "active")
        .order_by(timeline_entries.c.occurred_at.desc(), timeline_entries.c.entry_id)
    )
    return [dict(r._mapping) | {"occurred_at": aware(r.occurred_at)} for r in rows]
