"""Identity resolution for a whole intake batch: known source records in one query, the rest one by one.

Almost every event comes from a source record the registry already knows (the same school, the same pupil,
week after week). Those resolve with one lookup for the whole batch and one bulk insert of event links;
only new records and merges take the registry's full per-event path (deterministic links, scoring, review).
The result is the same as calling `IdentityRegistry.resolve_event` for each event in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from hub.db.identity_tables import identity_event_links, identity_records
from hub.db.upsert import insert_ignore_all
from projections.identity.merging import lock_registry
from projections.identity.registry import MERGED_KIND, Registry
from projections.identity.rules import record_key

_CHUNK = 500  # keep IN lists within every backend's parameter limit


def _known(conn: Connection, keys: set[str]) -> dict[str, str]:
    ordered = sorted(keys)
    found: dict[str, str] = {}
    for i in range(0, len(ordered), _CHUNK):
        rows = conn.execute(
            select(identity_records.c.record_key, identity_records.c.child_id).where(
                identity_records.c.record_key.in_(ordered[i : i + _CHUNK])
            )
        )
        found.update({r.record_key: r.child_id for r in rows})
    return found


def resolve_events(
    registry: Registry, conn: Connection, events: Sequence[dict[str, Any]], now: datetime
) -> list[str | ValueError]:
    """Child id per event, or the ValueError that says why the event cannot be linked (it is dead-lettered)."""
    lock_registry(conn)
    keys: list[str | None] = [
        record_key(e["source"]["organisation"], e["subject"]["identifiers"]) if e["subject"]["identifiers"] else None
        for e in events
    ]
    known = _known(conn, {k for k in keys if k})
    results: list[str | ValueError] = []
    links: list[dict[str, str]] = []
    for event, key in zip(events, keys, strict=True):
        if key is not None and key in known and event.get("kind") != MERGED_KIND:
            results.append(known[key])  # merges move records, so a stored record names the current child
            links.append({"event_id": event["event_id"], "record_key": key})
            continue
        try:
            child_id = registry.resolve_event(conn, event, now)
        except ValueError as exc:
            results.append(exc)
            continue
        results.append(child_id)
        if key is not None and event.get("kind") != MERGED_KIND:
            known[key] = child_id
    insert_ignore_all(conn, identity_event_links, links)
    return results
