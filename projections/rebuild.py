"""Rebuild projections from the SQL event store beside the live tables, then switch when caught up.

Children are rebuilt in child-id order into `<table>__rebuild` shadow tables; progress is committed with
each chunk, so an interrupted rebuild resumes where it stopped. Events that arrive meanwhile are caught up by
re-projecting their children, and the final catch-up and the table swap happen in one transaction that holds
the event store's write lock, so the live projector never writes into a table that is being replaced.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, text

from consent_engine import Policy
from hub.db.engine import make_engine
from hub.db.projection_tables import rebuild_state
from hub.db.tables import event_store
from hub.disclosure.rules import Rules
from hub.events.codec import EventCodec
from projections.child_projector import apply_events
from projections.table_set import LIVE, PROJECTIONS, ProjectionTables, shadow_tables

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
    processes: int = 1,
) -> Progress:
    """Rebuild the named projections (default: all). `stop_after_chunks` simulates an interruption (tests).

    With `processes` > 1 (PostgreSQL only) the children still to do are split into that many child-id ranges,
    each rebuilt by a process of its own: a child's projections depend only on its own events, and one CPython
    process computes on one core. Each range commits its own progress, so an interrupted parallel rebuild
    resumes range by range (with any process count).
    """
    names = sorted(names or PROJECTIONS)
    if processes > 1 and engine.dialect.name == "sqlite":
        raise ValueError("SQLite has one writer at a time: rebuild it with one process")
    ctx = RebuildContext(engine, codec, policy, rules, shadow_tables())
    state = _start_or_resume(ctx, names)
    with engine.connect() as conn:
        total = conn.execute(select(func.count(func.distinct(event_store.c.child_id)))).scalar_one()
    progress = Progress(total, int(state["children_done"]), int(state["events_done"]))
    if processes > 1 or _ranges(engine):
        finished = _rebuild_ranges(ctx, names, processes, chunk, progress, on_progress, stop_after_chunks)
    else:
        finished = _rebuild_range(ctx, WHOLE, chunk, progress, on_progress, stop_after_chunks)
    if finished:
        _catch_up_and_swap(ctx, names, int(state["snapshot_seq"]))
    return progress


WHOLE = "projections"  # the rebuild's own state row; a parallel rebuild adds one row per range


def _rebuild_range(
    ctx: RebuildContext,
    row: str,
    chunk: int,
    progress: Progress,
    on_progress: Callable[[Progress], None] | None,
    stop_after_chunks: int | None,
) -> bool:
    """Rebuild the children after the row's cursor (up to its upper bound) chunk by chunk; False if stopped."""
    with ctx.engine.connect() as conn:
        state = conn.execute(select(rebuild_state).where(rebuild_state.c.name == row)).mappings().one()
    last, until, chunks = str(state["last_child_id"]), state["until_child_id"], 0
    while True:
        with ctx.engine.begin() as conn:
            query = select(event_store.c.child_id).distinct().where(event_store.c.child_id > last)
            if until is not None:
                query = query.where(event_store.c.child_id <= until)
            batch = list(conn.execute(query.order_by(event_store.c.child_id).limit(chunk)).scalars())
            if not batch:
                if until is not None and last != until:  # its last children were merged away meanwhile
                    conn.execute(rebuild_state.update().where(rebuild_state.c.name == row).values(last_child_id=until))
                return True
            events = _project_children(conn, ctx, batch)
            progress.events_done += events
            progress.children_done += len(batch)
            last = batch[-1]
            conn.execute(
                rebuild_state.update()
                .where(rebuild_state.c.name == row)
                .values(
                    last_child_id=last,
                    children_done=rebuild_state.c.children_done + len(batch),
                    events_done=rebuild_state.c.events_done + events,
                )
            )
        if on_progress:
            on_progress(progress)
        chunks += 1
        if stop_after_chunks is not None and chunks >= stop_after_chunks:
            return False


def _ranges(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(rebuild_state).where(rebuild_state.c.name.like("range:%"))).mappings().all()
    return [dict(r) for r in rows]


def _split(ctx: RebuildContext, names: list[str], processes: int) -> None:
    """Record the ranges of the children the whole rebuild has not done yet, of about equal child counts."""
    with ctx.engine.begin() as conn:
        whole = conn.execute(select(rebuild_state).where(rebuild_state.c.name == WHOLE)).mappings().one()
        ids = list(
            conn.execute(
                select(event_store.c.child_id)
                .distinct()
                .where(event_store.c.child_id > whole["last_child_id"])
                .order_by(event_store.c.child_id)
            ).scalars()
        )
        lower = str(whole["last_child_id"])
        for k in range(min(processes, len(ids))):
            upper = ids[(k + 1) * len(ids) // min(processes, len(ids)) - 1]
            conn.execute(
                rebuild_state.insert().values(
                    name=f"range:{k}",
                    projections=names,
                    snapshot_seq=whole["snapshot_seq"],
                    last_child_id=lower,
                    until_child_id=upper,
                    children_done=0,
                    events_done=0,
                    started_at=datetime.now(UTC),
                )
            )
            lower = upper
        if ids:  # the whole row's cursor moves past what the ranges now own
            conn.execute(rebuild_state.update().where(rebuild_state.c.name == WHOLE).values(last_child_id=ids[-1]))


def _rebuild_ranges(
    ctx: RebuildContext,
    names: list[str],
    processes: int,
    chunk: int,
    progress: Progress,
    on_progress: Callable[[Progress], None] | None,
    stop_after_chunks: int | None,
) -> bool:
    """Run every unfinished range in a process of its own, `processes` at a time; fold their progress in."""
    if not _ranges(ctx.engine):
        _split(ctx, names, processes)
    base = (progress.children_done, progress.events_done)
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited engine, threads or locks
    url = ctx.engine.url.render_as_string(hide_password=False)
    waiting = [r["name"] for r in _ranges(ctx.engine) if r["last_child_id"] != r["until_child_id"]]
    running: list[Any] = []
    while waiting or running:
        while waiting and len(running) < max(1, processes):
            args = (url, ctx.policy, ctx.rules, waiting.pop(0), chunk, stop_after_chunks)
            proc = spawn.Process(target=_range_process, args=args, daemon=True)
            proc.start()
            running.append(proc)
        time.sleep(0.2)
        for proc in [p for p in running if not p.is_alive()]:
            running.remove(proc)
            if proc.exitcode != 0:
                for other in running:
                    other.terminate()
                raise RebuildFailed(f"a rebuild range process exited with {proc.exitcode}; run again to resume")
        ranges = _ranges(ctx.engine)
        progress.children_done = base[0] + sum(int(r["children_done"]) for r in ranges)
        progress.events_done = base[1] + sum(int(r["events_done"]) for r in ranges)
        if on_progress:
            on_progress(progress)
    ranges = _ranges(ctx.engine)
    if any(r["last_child_id"] != r["until_child_id"] for r in ranges):
        return False  # stopped early (stop_after_chunks)
    with ctx.engine.begin() as conn:  # fold the ranges into the whole row, so a resume counts them once
        conn.execute(
            rebuild_state.update()
            .where(rebuild_state.c.name == WHOLE)
            .values(children_done=progress.children_done, events_done=progress.events_done)
        )
        conn.execute(delete(rebuild_state).where(rebuild_state.c.name.like("range:%")))
    return True


def _range_process(url: str, policy: Policy, rules: Rules, row: str, chunk: int, stop_after_chunks: int | None) -> None:
    engine = make_engine(url)
    ctx = RebuildContext(engine, EventCodec.load(), policy, rules, shadow_tables())
    _rebuild_range(ctx, row, chunk, Progress(0, 0, 0), None, stop_after_chunks)
    engine.dispose()


class RebuildFailed(RuntimeError):
    """A range's process failed; its committed chunks stay done and a new rebuild resumes after them."""


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
