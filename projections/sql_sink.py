"""Idempotent batch writes: rows and the (topic id, partition, offset) they came from, in one transaction.

Redelivered records at or below the tracked offset are skipped; records from a new incarnation of the log
(the embedded broker restarted, so offsets start again at 0) have a new topic id and are tracked afresh,
and the event-id uniqueness check catches any event the store already holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select

from hub.db.tables import event_store, timeline_entries, tracking
from hub.db.upsert import insert_ignore
from hub.events.model import Envelope
from projections.timeline import timeline_row


@dataclass(frozen=True)
class Consumed:
    topic: str
    partition: int
    offset: int
    body: bytes
    event: Envelope


def tracked_offsets(conn: Connection, consumer: str, topic_id: str) -> dict[int, int]:
    rows = conn.execute(
        select(tracking.c.partition, tracking.c.last_offset).where(
            tracking.c.consumer == consumer, tracking.c.topic_id == topic_id
        )
    )
    return {r.partition: r.last_offset for r in rows}


def advance_tracking(
    conn: Connection, consumer: str, topic_ids: dict[str, str], records: Sequence[Consumed]
) -> None:
    latest: dict[tuple[str, int], int] = {}
    for rec in records:
        key = (rec.topic, rec.partition)
        latest[key] = max(latest.get(key, -1), rec.offset)
    for (topic, partition), offset in latest.items():
        topic_id = topic_ids[topic]
        updated = conn.execute(
            tracking.update()
            .where(tracking.c.consumer == consumer, tracking.c.topic_id == topic_id, tracking.c.partition == partition)
            .values(last_offset=offset)
        )
        if updated.rowcount == 0:
            conn.execute(
                tracking.insert().values(
                    consumer=consumer, topic_id=topic_id, partition=partition, topic=topic, last_offset=offset
                )
            )


def unseen(conn: Connection, consumer: str, topic_ids: dict[str, str], records: Sequence[Consumed]) -> list[Consumed]:
    """Drop records at or below the tracked offset of their partition (redelivery)."""
    offsets = {topic: tracked_offsets(conn, consumer, tid) for topic, tid in topic_ids.items()}
    return [r for r in records if r.offset > offsets.get(r.topic, {}).get(r.partition, -1)]


def append_events(engine: Engine, consumer: str, topic_ids: dict[str, str], records: Sequence[Consumed]) -> int:
    """Append new events to the event store and the timeline; returns how many were new."""
    with engine.begin() as conn:
        fresh = unseen(conn, consumer, topic_ids, records)
        ids = {r.event["event_id"] for r in fresh}
        known = set(conn.execute(select(event_store.c.event_id).where(event_store.c.event_id.in_(ids))).scalars())
        new: dict[str, Consumed] = {}
        for rec in fresh:
            event_id = rec.event["event_id"]
            if event_id not in known and event_id not in new:
                new[event_id] = rec
        if new:
            conn.execute(
                event_store.insert(),
                [
                    {
                        "event_id": r.event["event_id"],
                        "child_id": r.event["child_id"],
                        "kind": r.event["kind"],
                        "occurred_at": r.event["occurred_at"],
                        "recorded_at": r.event["recorded_at"],
                        "source_org": r.event["source"]["organisation"],
                        "body": r.body,
                    }
                    for r in new.values()
                ],
            )
            insert_ignore(conn, timeline_entries, [timeline_row(r.event) for r in new.values()])
        advance_tracking(conn, consumer, topic_ids, records)
        return len(new)
