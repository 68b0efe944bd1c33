"""Republishing the SQL event archive into an empty broker (`onestory log restore`, and `up` after it
restarts a dead embedded broker).

Restored events go to onestory.events.v1 keyed by child id, exactly as the identity processor first
published them; consumers dedupe by event id, and their offset tracking keys on the new topic id.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, func, select

from hub.db.tables import event_store
from hub.kafka.producer import DurableProducer, OutRecord
from hub.kafka.topics import EVENTS


def archived_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(event_store)).scalar_one())


def restore_events(
    engine: Engine, producer: DurableProducer, batch: int = 5000, progress: Callable[[int], None] = lambda _n: None
) -> int:
    """Every archived event, in archive order; returns how many were sent."""
    last, sent = 0, 0
    with engine.connect() as conn:
        while True:
            rows = conn.execute(
                select(event_store.c.seq, event_store.c.child_id, event_store.c.body)
                .where(event_store.c.seq > last)
                .order_by(event_store.c.seq)
                .limit(batch)
            ).all()
            if not rows:
                return sent
            producer.send_all([OutRecord(EVENTS, r.child_id.encode(), r.body) for r in rows], timeout=60.0)
            last, sent = rows[-1].seq, sent + len(rows)
            progress(len(rows))
