"""Offset tracking for idempotent batch writes: rows and the (topic id, partition, offset) they came from,
committed in one transaction by the caller.

Redelivered records at or below the tracked offset are skipped; records from a new incarnation of the log
(the embedded broker restarted, so offsets start again at 0) have a new topic id and are tracked afresh,
and the event-id uniqueness check catches any event the store already holds.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, select
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from hub.db.tables import tracking


@dataclass(frozen=True)
class Consumed:
    topic: str
    partition: int
    offset: int
    body: bytes
    event: dict[str, Any]


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one batch's work, restoring whatever state it was in.

    A batch allocates many short-lived containers (decoded events, rows, decisions); with the collector's
    default thresholds that sets off a young collection every 700 allocations and, every hundred of those, a
    full one over the whole heap, together a fifth of the projection stage's CPU. Paused, the batch's
    garbage waits for the first collection after it: one pass instead of dozens. Nothing is freed later
    than the end of the batch, and reference counting frees everything that is not in a cycle as before.
    """
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def execute_many(conn: Connection, statement: ClauseElement, rows: Sequence[dict[str, Any]]) -> None:
    """Run a statement with named bind parameters over many rows as one DBAPI executemany.

    Each value goes through its bind parameter's own type processor, so the stored values are those of
    `conn.execute(statement, rows)`; what is skipped is SQLAlchemy's per-row parameter handling, which costs
    more than the database's own work for the narrow bulk updates the projector issues. Every row must carry
    every bind parameter of the statement.
    """
    if not rows:
        return
    dialect = conn.dialect
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
    names = list(compiled.positiontup or ()) if dialect.positional else list(compiled.binds)
    convert = []
    for name in names:
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        convert.append((name, process))
    params: list[Any]
    if dialect.positional:
        params = [tuple(p(row[n]) if p else row[n] for n, p in convert) for row in rows]
    else:
        params = [{n: p(row[n]) if p else row[n] for n, p in convert} for row in rows]
    conn.exec_driver_sql(str(compiled), params)


def tracked_offsets(conn: Connection, consumer: str, topic_id: str) -> dict[int, int]:
    rows = conn.execute(
        select(tracking.c.partition, tracking.c.last_offset).where(
            tracking.c.consumer == consumer, tracking.c.topic_id == topic_id
        )
    )
    return {r.partition: r.last_offset for r in rows}


def advance_tracking(conn: Connection, consumer: str, topic_ids: dict[str, str], records: Sequence[Consumed]) -> None:
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
