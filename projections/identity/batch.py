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

from sqlalchemy import Connection

from hub.db.identity_tables import identity_event_links
from hub.db.upsert import insert_ignore_values
from projections.identity.lookups import Lookups, drop_snapshot
from projections.identity.merging import lock_registry
from projections.identity.registry import SOURCE_IDENTITY_KINDS, Registry
from projections.identity.rules import check_identifiers, record_key

# Where new records' lookups are fetched for the whole batch (Lookups.snapshot_batch): PostgreSQL, where each
# saves a round trip (~40 us of client CPU). SQLite reads in-process: there the batch's queries and checks
# cost as much as the lookups they replace (quick workload: 28 -> 30 us/event), so it reads per record.
SNAPSHOT_DIALECTS = frozenset({"postgresql"})


def resolve_events(
    registry: Registry, conn: Connection, events: Sequence[dict[str, Any]], now: datetime
) -> list[str | ValueError]:
    """Child id per event, or the ValueError that says why the event cannot be linked (it is dead-lettered).

    Event links are written once, at the end, for the whole batch: nothing in the registry's per-event path
    reads them (only a steward's unmerge does), so deferring them changes no decision. The links of events
    that took the full path go first, then those of known records, as when each full-path event wrote its own
    link on the way and the known ones were inserted together afterwards (the first link of an event id wins).
    """
    lock_registry(conn)
    keys: list[str | None] = [
        record_key(e["source"]["organisation"], e["subject"]["identifiers"]) if e["subject"]["identifiers"] else None
        for e in events
    ]
    lookups = Lookups(conn)
    known = lookups.children_of_records({k for k in keys if k})
    first_seen = [  # events that take the registry's full path and ask who holds their identifiers
        (key, e["subject"]["identifiers"])
        for e, key in zip(events, keys, strict=True)
        if key is not None and (key not in known or e.get("kind") in SOURCE_IDENTITY_KINDS)
    ]
    if first_seen and conn.dialect.name in SNAPSHOT_DIALECTS:
        lookups.snapshot_batch(known, (key for key, _ in first_seen), _valid_identifiers(first_seen))
    try:
        return _resolve(registry, conn, events, keys, known, now)
    finally:
        drop_snapshot(conn)


def _valid_identifiers(first_seen: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """The identifiers the registry will look up for these records. A record whose identifiers cannot be
    checked (ValueError) is left out: the registry raises the same for it, and it is dead-lettered."""
    out: list[tuple[str, str]] = []
    for _, identifiers in first_seen:
        try:
            out.extend(check_identifiers(identifiers).valid)
        except ValueError:
            continue
    return out


def _resolve(
    registry: Registry,
    conn: Connection,
    events: Sequence[dict[str, Any]],
    keys: list[str | None],
    known: dict[str, str],
    now: datetime,
) -> list[str | ValueError]:
    results: list[str | ValueError] = []
    links: list[tuple[str, str]] = []
    resolved: list[tuple[str, str]] = []  # links of events that took the registry's full path
    for event, key in zip(events, keys, strict=True):
        merged = event.get("kind") in SOURCE_IDENTITY_KINDS  # merges and links take the full path
        if key is not None and not merged:
            child = known.get(key)
            if child is not None:
                results.append(child)  # merges move records, so a stored record names the current child
                links.append((event["event_id"], key))
                continue
        try:
            child_id, linked_key = registry.resolve_event_unlinked(conn, event, now)
        except ValueError as exc:
            results.append(exc)
            continue
        resolved.append((event["event_id"], linked_key))
        results.append(child_id)
        if key is not None and not merged:
            known[key] = child_id
    # Through hub.db.upsert: on PostgreSQL it copies a batch's rows, where an executemany pipelines each one.
    insert_ignore_values(conn, identity_event_links, ["event_id", "record_key"], resolved + links)
    return results
