"""A child's record as a read decides from it, kept in the API process while the child's events are unchanged.

A read needs the child's timeline rows (hundreds, with their JSON documents) and the consent engine's inputs
(consent records with competence, and the team's relationships). All of them are projections of the child's
events, written by the projector in the same transaction as the events themselves (`project_batch`), and a
merge or an unmerge moves the events with the rows. So the child's events in the SQL event store say whether
anything a read decides from has changed: their count, last and summed sequence numbers (the *fingerprint*,
read from the event store's (child, seq) index in one small query with every read) are compared with those
the kept record was loaded at, and any difference loads the child afresh.

What is *not* kept, because it changes without an event of the child being stored: whether a consent change
is accepted but not yet applied (`consent_pending`, read with the fingerprint on every read), the viewer's
break-glass declaration, and the decisions themselves, which are made for the actual viewer at the actual
moment on every read (a relationship or consent period that ended a second ago already counts). A table
switch by `onestory rebuild` leaves the events as they were; a kept record is reloaded at least every
`MAX_AGE` seconds so that a rebuild's rows are served soon after the switch, as they would be by a read
running during it.

Kept rows and the shapes derived from them (`derived`) are shared between reads: readers never mutate them.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, bindparam, func, select

from consent_engine import ConsentRecord, Relationship
from hub.db.break_glass_tables import break_glass_declarations
from hub.db.projection_tables import child_now, consent_pending, episodes
from hub.db.tables import children, event_store
from hub.disclosure.decide import aware, decision_key, load_context
from hub.read import children as child_rows

MAX_AGE = 30.0  # seconds: the longest a kept record serves without being reloaded
# Entries kept per API process, over the most recently read children: a kept 500-entry child with its shapes
# for a timeline and a FHIR reader holds ~2.3 MB (measured), so ~100,000 entries is ~0.5 GB at most.
LIMIT = 100_000
MAX_SHAPES = 1_000  # shapes kept per child

Fingerprint = tuple[int, int, int]


@dataclass(frozen=True)
class ChildState:
    """What is read live with every read: whether the child exists, its events' fingerprint, pending consent."""

    exists: bool
    fingerprint: Fingerprint
    pending: bool
    # The user has a break-glass declaration for this child not ended early (it may have expired): only then
    # is `hub.disclosure.break_glass.in_force` asked whether one is in force now.
    glass: bool = True


@dataclass
class ChildRecord:
    child_id: str
    fingerprint: Fingerprint
    loaded_at: float
    consents: tuple[ConsentRecord, ...]
    relationships: tuple[Relationship, ...]
    team: tuple[dict[str, Any], ...]
    rows: list[dict[str, Any]]
    kinds: list[dict[str, Any]]  # the first row of each distinct `decision_key`, in order of appearance
    kind_of: list[int]  # each row's index into `kinds`
    measured: list[dict[str, Any]]  # the rows that may be outcome measures (hub.read.measures)
    episodes: list[dict[str, Any]]  # the child's episodes (UTC-aware times)
    now_state: dict[str, Any]  # the child's "now" (THRIVE grouping, plans, ending, voice)
    derived: dict[Any, Any] = field(default_factory=dict)  # shapes made from rows, keyed by their makers

    def shape(self, key: Any, make: Callable[[], Any]) -> Any:
        """The kept shape under `key`, made once (a disclosed entry at a level, a FHIR resource)."""
        known = self.derived.get(key)
        if known is None:
            if len(self.derived) >= MAX_SHAPES:  # many viewers of one child: start again rather than grow
                self.derived.clear()
            known = self.derived[key] = make()
        return known


_c = event_store.c


def _state_query() -> Any:
    child: Any = bindparam("child_id")
    mine = _c.child_id == child
    glass = break_glass_declarations.c
    return select(
        select(func.count()).select_from(children).where(children.c.child_id == child).scalar_subquery(),
        select(func.count()).select_from(event_store).where(mine).scalar_subquery(),
        select(func.coalesce(func.max(_c.seq), 0)).where(mine).scalar_subquery(),
        select(func.coalesce(func.sum(_c.seq), 0)).where(mine).scalar_subquery(),
        select(func.count()).select_from(consent_pending).where(consent_pending.c.child_id == child).scalar_subquery(),
        select(func.count())
        .select_from(break_glass_declarations)
        .where(glass.child_id == child, glass.user_id == bindparam("user_id"), glass.ended_at.is_(None))
        .scalar_subquery(),
    )


_STATE = _state_query()  # built once: each read only binds the child's and the user's ids


def state(conn: Connection, child_id: str, user_id: str = "") -> ChildState:
    """Read with every read, in one statement; `user_id`: whose break-glass declarations to look for."""
    known, count, last, total, pending, glass = conn.execute(_STATE, {"child_id": child_id, "user_id": user_id}).one()
    return ChildState(bool(known), (int(count), int(last), int(total)), bool(pending), bool(glass))


class StoryCache:
    """The most recently read children's records, each valid while its fingerprint holds (and for MAX_AGE), up to
    `limit` entries in all (the child read longest ago goes first; the child just read always stays)."""

    def __init__(self, limit: int = LIMIT, max_age: float = MAX_AGE) -> None:
        self.limit, self.max_age = limit, max_age
        self._children: OrderedDict[str, ChildRecord] = OrderedDict()
        self._entries = 0
        self._lock = threading.Lock()

    def record(self, conn: Connection, child_id: str, fingerprint: Fingerprint) -> ChildRecord:
        """The child's record as of `fingerprint` (read by the caller in this connection, before this call)."""
        now = time.monotonic()
        with self._lock:
            kept = self._children.get(child_id)
            if kept is not None and kept.fingerprint == fingerprint and now - kept.loaded_at < self.max_age:
                self._children.move_to_end(child_id)
                return kept
        fresh = load(conn, child_id, fingerprint, now)
        with self._lock:
            replaced = self._children.pop(child_id, None)
            self._entries += len(fresh.rows) - (len(replaced.rows) if replaced else 0)
            self._children[child_id] = fresh
            while self._entries > self.limit and len(self._children) > 1:
                _, dropped = self._children.popitem(last=False)
                self._entries -= len(dropped.rows)
        return fresh

    def forget(self) -> None:
        with self._lock:
            self._children.clear()
            self._entries = 0

    def __len__(self) -> int:
        return len(self._children)


def load(conn: Connection, child_id: str, fingerprint: Fingerprint, now: float) -> ChildRecord:
    """Read the child's rows and consent-engine inputs. The caller's fingerprint was read first, in the same
    connection: a change committed in between makes the kept record look older than it is, never newer, so
    the next read reloads it (SQLite and PostgreSQL reads see each committed transaction whole)."""
    ctx = load_context(conn, child_id)
    rows = child_rows.timeline(conn, child_id)
    first: dict[tuple[Any, ...], int] = {}
    kinds: list[dict[str, Any]] = []
    kind_of: list[int] = []
    for row in rows:
        key = decision_key(row)
        if key not in first:
            first[key] = len(kinds)
            kinds.append(row)
        kind_of.append(first[key])
    return ChildRecord(
        child_id,
        fingerprint,
        now,
        ctx.consents,
        ctx.relationships,
        ctx.team,
        rows,
        kinds,
        kind_of,
        [r for r in rows if isinstance(r["detail"], dict) and r["detail"].get("measure")],
        [
            {k: aware(v) if isinstance(v, datetime) else v for k, v in ep.items()}
            for ep in conn.execute(select(episodes).where(episodes.c.child_id == child_id)).mappings()
        ],
        conn.execute(select(child_now.c.state).where(child_now.c.child_id == child_id)).scalar() or {},
    )


_CACHES: WeakKeyDictionary[Engine, StoryCache] = WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cache_for(engine: Engine) -> StoryCache:
    """The one cache per database (engine) in this process: a child id names a child in one database only."""
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None:
            cache = _CACHES[engine] = StoryCache()
        return cache
