"""Rebuild projections from the SQL event store beside the live tables, then switch when caught up.

Children are rebuilt in child-id order into `<table>__rebuild` shadow tables; progress is committed with
each chunk, so an interrupted rebuild resumes where it stopped. Events that arrive meanwhile are caught up by
re-projecting their children, and the final catch-up and the table swap happen in one transaction that holds
the event store's write lock, so the live projector never writes into a table that is being replaced.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, inspect, select, text

from consent_engine import Policy
from hub.db.projection_tables import rebuild_state
from hub.db.tables import event_store
from hub.events.codec import EventCodec
from projections.child_projector import apply_events
from projections.rules import Rules
from projections.table_set import LIVE, PROJECTIONS, SHADOW_SUFFIX, ProjectionTables, shadow_tables

VOLATILE = {"updated_at"}


@dataclass
class Progress:
    children_total: int
    children_done: int
    events_done: int


def _child_events(conn: Connection, codec: EventCodec, child_ids: Iterable[str]) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(event_store.c.body).where(event_store.c.child_id.in_(list(child_ids))).order_by(event_store.c.seq)
    )
    return [codec.decode(body) for body in rows.scalars()]


def _clear_children(conn: Connection, shadow: ProjectionTables, child_ids: list[str]) -> None:
    for table in shadow.by_name().values():
        conn.execute(delete(table).where(table.c.child_id.in_(child_ids)))


def _project_children(conn: Connection, ctx: RebuildContext, child_ids: list[str]) -> int:
    events = _child_events(conn, ctx.codec, child_ids)
    if events:
        apply_events(
            conn, ctx.policy, ctx.rules, events, datetime.now(UTC), ctx.shadow, pending_marker=False, fresh=True
        )
    return len(events)


@dataclass
class RebuildContext:
    engine: Engine
    codec: EventCodec
    policy: Policy
    rules: Rules
    shadow: ProjectionTables


def _start_or_resume(ctx: RebuildContext, names: list[str]) -> dict[str, Any]:
    with ctx.engine.begin() as conn:
        state = conn.execute(select(rebuild_state).where(rebuild_state.c.name == "projections")).mappings().first()
        if state is not None and sorted(state["projections"]) == sorted(names):
            return dict(state)
        for table in ctx.shadow.by_name().values():
            table.drop(conn, checkfirst=True)
        for table in ctx.shadow.by_name().values():
            table.create(conn)
        conn.execute(delete(rebuild_state))
        snapshot = conn.execute(select(func.coalesce(func.max(event_store.c.seq), 0))).scalar_one()
        fresh = {
            "name": "projections",
            "projections": names,
            "snapshot_seq": snapshot,
            "last_child_id": "",
            "children_done": 0,
            "events_done": 0,
            "started_at": datetime.now(UTC),
        }
        conn.execute(rebuild_state.insert().values(**fresh))
        return fresh


def rebuild(
    engine: Engine,
    codec: EventCodec,
    policy: Policy,
    rules: Rules,
    names: list[str] | None = None,
    chunk: int = 100,
    on_progress: Callable[[Progress], None] | None = None,
    stop_after_chunks: int | None = None,
) -> Progress:
    """Rebuild the named projections (default: all). `stop_after_chunks` simulates an interruption (tests)."""
    names = sorted(names or PROJECTIONS)
    ctx = RebuildContext(engine, codec, policy, rules, shadow_tables())
    state = _start_or_resume(ctx, names)
    with engine.connect() as conn:
        total = conn.execute(select(func.count(func.distinct(event_store.c.child_id)))).scalar_one()
    progress = Progress(total, int(state["children_done"]), int(state["events_done"]))
    last, chunks = str(state["last_child_id"]), 0
    while True:
        with engine.begin() as conn:
            batch = list(
                conn.execute(
                    select(event_store.c.child_id)
                    .distinct()
                    .where(event_store.c.child_id > last)
                    .order_by(event_store.c.child_id)
                    .limit(chunk)
                ).scalars()
            )
            if not batch:
                break
            progress.events_done += _project_children(conn, ctx, batch)
            progress.children_done += len(batch)
            last = batch[-1]
            conn.execute(
                rebuild_state.update().values(
                    last_child_id=last, children_done=progress.children_done, events_done=progress.events_done
                )
            )
        if on_progress:
            on_progress(progress)
        chunks += 1
        if stop_after_chunks is not None and chunks >= stop_after_chunks:
            return progress
    _catch_up_and_swap(ctx, names, int(state["snapshot_seq"]))
    return progress


def _lock_event_store(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE event_store IN EXCLUSIVE MODE"))
    else:  # SQLite: the first write takes the database write lock for the rest of the transaction
        conn.execute(rebuild_state.update().values(name="projections"))


def _catch_up(conn: Connection, ctx: RebuildContext, since_seq: int) -> int:
    latest = conn.execute(select(func.coalesce(func.max(event_store.c.seq), 0))).scalar_one()
    late = list(conn.execute(select(event_store.c.child_id).distinct().where(event_store.c.seq > since_seq)).scalars())
    if late:
        _clear_children(conn, ctx.shadow, late)
        _project_children(conn, ctx, late)
    return int(latest)


def _catch_up_and_swap(ctx: RebuildContext, names: list[str], snapshot_seq: int) -> None:
    with ctx.engine.begin() as conn:  # catch up without the lock first, so the locked step is short
        snapshot_seq = _catch_up(conn, ctx, snapshot_seq)
    with ctx.engine.begin() as conn:
        _lock_event_store(conn)
        _catch_up(conn, ctx, snapshot_seq)
        live, shadow = LIVE.by_name(), ctx.shadow.by_name()
        for name in PROJECTIONS:
            if name in names:
                old = live[name].name + "__old"
                conn.execute(text(f'ALTER TABLE "{live[name].name}" RENAME TO "{old}"'))
                conn.execute(text(f'ALTER TABLE "{shadow[name].name}" RENAME TO "{live[name].name}"'))
                conn.execute(text(f'DROP TABLE "{old}"'))
                if conn.dialect.name == "postgresql":  # the primary key index keeps its shadow name on rename
                    conn.execute(text(f'ALTER INDEX "{shadow[name].name}_pkey" RENAME TO "{live[name].name}_pkey"'))
                for index in live[name].indexes:
                    index.create(conn)
            else:
                shadow[name].drop(conn)
        conn.execute(delete(rebuild_state))


def content_digest(conn: Connection, names: Iterable[str] = PROJECTIONS) -> dict[str, str]:
    """A hash of each live projection's content, in primary-key order, without volatile columns."""
    digests = {}
    for name in names:
        table = LIVE.by_name()[name]
        keys = [c for c in table.primary_key.columns]
        cols = [c for c in table.columns if c.name not in VOLATILE]
        h = hashlib.sha256()
        for row in conn.execute(select(*cols).order_by(*keys)):
            h.update(json.dumps([_norm(v) for v in row], sort_keys=True, default=str).encode())
        digests[name] = h.hexdigest()
    return digests


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)).isoformat()
    return value


def shadow_exists(engine: Engine) -> bool:
    return inspect(engine).has_table("timeline_entries" + SHADOW_SUFFIX)
