"""What the outbound feeds stage reads for one batch, for all of the batch's children at once.

Reading per child (its context twice, its whole timeline, every holding of every recipient) cost several
queries per child and work in proportion to the child's history. Here each kind of row is read for the whole
batch in a few IN queries (id lists in chunks of `CHUNK`, well inside SQLite's and PostgreSQL's parameter
limits), and only what can change: a child's whole timeline and holdings only when some recipient's view of it
may have widened; otherwise the batch's own entries, what the recipients hold of them, and held entries that
have since left the record (the only others that can change: they are retracted).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, select

from hub.db.feed_tables import feed_disclosures
from hub.db.projection_tables import child_now, consent_pending, consent_records, team_members
from hub.db.tables import timeline_entries
from hub.outbound.feed_plan import HELD, Sent
from hub.read.disclosure import ChildContext
from projections.consent_records import to_record
from projections.disclosure import aware, relationships_of

CHUNK = 500
_T, _F = timeline_entries.c, feed_disclosures.c
# What deciding, shaping (`hub.read.disclosure.disclose`) and notifying need of an entry: not its precomputed
# per-class decisions nor its bookkeeping.
ENTRY_COLUMNS = (
    _T.entry_id,
    _T.child_id,
    _T.occurred_at,
    _T.kind,
    _T.category,
    _T.source_system,
    _T.source_org,
    _T.summary,
    _T.sensitivity_labels,
    _T.sharing_basis,
    _T.correlation_ids,
    _T.detail,
)
_HOLDING_COLUMNS = (_F.recipient, _F.entry_id, _F.child_id, _F.level, _F.record_id)


def chunked(ids: Iterable[str], size: int = CHUNK) -> Iterator[list[str]]:
    chunk: list[str] = []
    for value in ids:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _aware_row(row: Any) -> dict[str, Any]:
    return {k: aware(v) if isinstance(v, datetime) else v for k, v in row._mapping.items()}


def load_contexts(conn: Connection, child_ids: Sequence[str]) -> dict[str, ChildContext]:
    """`hub.read.disclosure.load_context` of every child, in three queries per chunk of children.

    Rows keep the order a per-child read returns them in on SQLite (the child id index, then insertion order).
    """
    team: dict[str, list[dict[str, Any]]] = {c: [] for c in child_ids}
    consents: dict[str, list[dict[str, Any]]] = {c: [] for c in child_ids}
    pending: set[str] = set()
    for chunk in chunked(child_ids):
        for r in conn.execute(select(team_members).where(team_members.c.child_id.in_(chunk))):
            team[r.child_id].append(_aware_row(r))
        for r in conn.execute(select(consent_records).where(consent_records.c.child_id.in_(chunk))):
            consents[r.child_id].append(_aware_row(r))
        pending.update(
            conn.execute(
                select(consent_pending.c.child_id).where(consent_pending.c.child_id.in_(chunk)).distinct()
            ).scalars()
        )
    return {
        c: ChildContext(
            c,
            tuple(to_record(r) for r in consents[c]),
            tuple(relationships_of(team[c])),
            tuple(team[c]),
            c in pending,
        )
        for c in child_ids
    }


def now_states(conn: Connection, child_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The "now" projection's state of each child that has one (what alert rules need: open plans)."""
    out: dict[str, dict[str, Any]] = {}
    for chunk in chunked(child_ids):
        for r in conn.execute(select(child_now.c.child_id, child_now.c.state).where(child_now.c.child_id.in_(chunk))):
            out[r.child_id] = r.state or {}
    return out


@dataclass
class BatchInputs:
    """Per child: its active entries that can change (by entry id) and each recipient's holdings of them."""

    rows: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    held: dict[str, dict[str, dict[str, Sent]]] = field(default_factory=dict)  # child -> recipient -> entry


def _entry_row(keys: tuple[str, ...], values: Sequence[Any], at: int) -> dict[str, Any]:
    row = dict(zip(keys, values, strict=True))
    row["occurred_at"] = aware(values[at])
    return row


def load_inputs(
    conn: Connection,
    recipients: Sequence[str],
    whole: Sequence[str],
    partial: dict[str, set[str]],
) -> BatchInputs:
    """Entries and holdings of `whole` children (all of them) and `partial` ones (the named batch entries).

    A partial child also gets the holdings at a held level of entries no longer in its active record
    (corrected, withdrawn or moved to another child): the per-child path found them by difference with the
    whole timeline; here the database finds them, so only those rows come back.
    """
    out = BatchInputs()
    for child_id in [*whole, *partial]:
        out.rows[child_id] = {}
        out.held[child_id] = {}
    if not recipients:
        return out

    def add_rows(statement: Any, wanted: Any) -> None:
        result = conn.execute(statement)
        keys = tuple(result.keys())
        at, child = keys.index("occurred_at"), keys.index("child_id")
        for values in result.tuples():
            if wanted(values):
                out.rows[values[child]][values[0]] = _entry_row(keys, values, at)

    def add_held(statement: Any, wanted: Any) -> None:
        for r in conn.execute(statement):
            if wanted(r):
                out.held[r.child_id].setdefault(r.recipient, {})[r.entry_id] = Sent(r.level, r.record_id)

    active = _T.status == "active"
    for chunk in chunked(whole):
        add_rows(select(*ENTRY_COLUMNS).where(_T.child_id.in_(chunk), active), lambda v: True)
        add_held(select(*_HOLDING_COLUMNS).where(_F.recipient.in_(recipients), _F.child_id.in_(chunk)), lambda r: True)
    entry_child = {entry_id: child_id for child_id, entries in partial.items() for entry_id in entries}
    for chunk in chunked(entry_child):
        add_rows(
            select(*ENTRY_COLUMNS).where(_T.entry_id.in_(chunk), active),
            lambda v: entry_child.get(v[0]) == v[1],
        )
        add_held(
            select(*_HOLDING_COLUMNS).where(_F.recipient.in_(recipients), _F.entry_id.in_(chunk)),
            lambda r: entry_child.get(r.entry_id) == r.child_id,
        )
    still_there = exists().where(and_(_T.entry_id == _F.entry_id, _T.child_id == _F.child_id, active))
    for chunk in chunked(partial):
        add_held(
            select(*_HOLDING_COLUMNS).where(
                _F.recipient.in_(recipients), _F.child_id.in_(chunk), _F.level.in_(sorted(HELD)), ~still_there
            ),
            lambda r: True,
        )
    return out
