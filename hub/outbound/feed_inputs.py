"""What the outbound feeds stage reads for one batch, for all of the batch's children at once.

Reading per child (its context twice, its whole timeline, every holding of every recipient) cost several
queries per child and work in proportion to the child's history. Here each kind of row is read for the whole
batch in a few IN queries (id lists in chunks of `CHUNK`, well inside SQLite's and PostgreSQL's parameter
limits), and only what can change: a child's whole timeline and holdings only when some recipient's view of it
may have widened; otherwise the batch's own entries, what the recipients hold of them, and held entries that
have since left the record (the only others that can change: they are retracted).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, DateTime, String, Table, Text, and_, cast, exists, select, tuple_, type_coerce

from consent_engine import Decision
from hub.db.feed_tables import feed_disclosures
from hub.db.projection_tables import (
    child_now,
    competence_assessments,
    consent_pending,
    consent_records,
    team_members,
)
from hub.db.tables import timeline_entries
from hub.disclosure.consent_records import birth_dates, records_of
from hub.disclosure.decide import ChildContext, aware, relationships_of
from hub.outbound.dispatch import content_json, encode_content
from hub.outbound.feed_plan import HELD, Sent

CHUNK = 500
_T, _F = timeline_entries.c, feed_disclosures.c
# What deciding, shaping (`hub.disclosure.decide.disclose`) and notifying need of an entry: not its precomputed
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


def _aware_rows(
    conn: Connection, table: Table, chunk: list[str], skip: frozenset[str] = frozenset()
) -> Iterator[dict[str, Any]]:
    """A table's rows of the chunk's children as dicts, their times UTC-aware (as `load_context` gives them)."""
    result = conn.execute(select(*(c for c in table.c if c.name not in skip)).where(table.c.child_id.in_(chunk)))
    keys = tuple(result.keys())
    moments = [(i, k) for i, k in enumerate(keys) if isinstance(table.c[k].type, DateTime)]
    for values in result:
        row = dict(zip(keys, values, strict=True))
        for i, k in moments:
            row[k] = aware(values[i])
        yield row


# The team fold's per-field evidence: no decision, alert or feed reads it, and it is the largest JSON there.
_FOLD_ONLY = frozenset({"evidence"})


def load_contexts(conn: Connection, child_ids: Sequence[str]) -> dict[str, ChildContext]:
    """`hub.disclosure.decide.load_context` of every child, in three queries per chunk of children.

    Team members come without their fold evidence. Rows keep the order a per-child read returns them in on
    SQLite (the child id index, then insertion order).
    """
    team: dict[str, list[dict[str, Any]]] = {c: [] for c in child_ids}
    consents: dict[str, list[dict[str, Any]]] = {c: [] for c in child_ids}
    assessments: dict[str, list[dict[str, Any]]] = {c: [] for c in child_ids}
    pending: set[str] = set()
    for chunk in chunked(child_ids):
        for row in _aware_rows(conn, team_members, chunk, _FOLD_ONLY):
            team[row["child_id"]].append(row)
        for row in _aware_rows(conn, consent_records, chunk):
            consents[row["child_id"]].append(row)
        for row in _aware_rows(conn, competence_assessments, chunk):
            assessments[row["child_id"]].append(row)
        pending.update(
            conn.execute(
                select(consent_pending.c.child_id).where(consent_pending.c.child_id.in_(chunk)).distinct()
            ).scalars()
        )
    born = birth_dates(conn, child_ids) if any(consents.values()) else dict.fromkeys(child_ids)
    return {
        c: ChildContext(
            c,
            tuple(records_of(consents[c], assessments[c], born[c])),
            tuple(relationships_of(team[c])),
            tuple(team[c]),
            c in pending,
        )
        for c in child_ids
    }


def pending_children(conn: Connection, child_ids: Sequence[str]) -> set[str]:
    """The children with a consent or competence change accepted but not yet applied (reads fail closed)."""
    pending: set[str] = set()
    for chunk in chunked(child_ids):
        pending.update(
            conn.execute(
                select(consent_pending.c.child_id).where(consent_pending.c.child_id.in_(chunk)).distinct()
            ).scalars()
        )
    return pending


def known_contexts(
    conn: Connection, child_ids: Sequence[str], given: Mapping[str, ChildContext]
) -> dict[str, ChildContext]:
    """`load_contexts` of the children, taking those `given` (the projector's, as its transaction left them)
    as they are apart from whether a consent change is pending, which only the database knows."""
    missing = [c for c in child_ids if c not in given]
    out = load_contexts(conn, missing) if missing else {}
    handed = [c for c in child_ids if c in given]
    pending = pending_children(conn, handed) if handed else set()
    for child_id in handed:
        ctx = given[child_id]
        out[child_id] = replace(ctx, updating=True) if child_id in pending else ctx
    return out


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


def entry_columns(dialect: str) -> tuple[Any, ...]:
    """The entry columns to read. The JSON columns come as their stored text: `sensitivity_labels` and
    `sharing_basis` are decoded for every row (as the column type would decode them), `detail` and
    `correlation_ids` by `full_entry` only for what is sent at full level, and a feed record's content is
    built from the texts (`content_of`). On SQLite the time comes as its stored text, which
    `datetime.fromisoformat` reads several times faster than the dialect's own parser."""
    occurred = type_coerce(_T.occurred_at, String) if dialect == "sqlite" else _T.occurred_at
    return (
        *ENTRY_COLUMNS[:2],
        occurred.label("occurred_at"),
        *ENTRY_COLUMNS[3:8],
        *(cast(_T[name], Text).label(raw) for name, raw in RAW.items()),
    )


# The JSON columns of an entry and the keys their stored text is read under. The first two are decoded as
# the column type decodes them (the engine's `json_deserializer`, orjson.loads); the others by `full_entry`.
RAW = {
    "sensitivity_labels": "sensitivity_labels_json",
    "sharing_basis": "sharing_basis_json",
    "correlation_ids": "correlation_ids_json",
    "detail": "detail_json",
}
_DECODED = ("sensitivity_labels", "sharing_basis")
_LAZY = ("correlation_ids", "detail")
# An integer of 19 digits or more may lie outside 64 bits, where orjson reads a float and json an int.
_LONG_DIGITS = re.compile(r"\d{19}")


def loads(text: str) -> Any:
    """`json.loads(text)`, by orjson when that gives the same value (several times faster).

    orjson reads every JSON text both accept to the same value, except integers beyond 64 bits (a float
    there): texts with a run of 19 digits, and texts orjson refuses (NaN, lone surrogates), go to json.
    `tests/unit/outbound/test_feed_content.py` holds the two equal.
    """
    if _LONG_DIGITS.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def full_entry(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its JSON text decoded, as `hub.disclosure.decide.disclose` needs it at full level (once)."""
    for name in _LAZY:
        if name not in row:
            row[name] = loads(row[RAW[name]])
    return row


def content_of(row: dict[str, Any], decision: Decision, fragments: dict[tuple[str, str], str]) -> str:
    """`content_json(disclose(full_entry(row) or row, decision))`, the content of the feed record that
    discloses the row, built from the stored JSON texts: `fragments` remembers the encoding of each text
    (a batch's sharing bases, labels and correlation ids repeat), so only new texts are decoded and encoded.
    `tests/unit/outbound/test_feed_content.py` holds the two equal."""
    if decision.level.value != "full":
        return content_json(row, decision)
    parts: dict[str, str] = {}
    for name, raw in RAW.items():
        key = (name, row[raw])
        fragment = fragments.get(key)
        if fragment is None:
            value = row[name] if name in row else loads(key[1])
            fragment = fragments[key] = encode_content(value)
        parts[name] = fragment
    return content_json(row, decision, parts)


def _moment(value: Any) -> datetime | None:
    return aware(datetime.fromisoformat(value) if isinstance(value, str) else value)


def _gone(dialect: str, chunk: list[str]) -> Any:
    """A holding whose entry is no longer active in its child's record.

    SQLite probes a row-value NOT IN list built once per query faster than a correlated NOT EXISTS per
    holding; PostgreSQL plans NOT EXISTS as an anti-join, while NOT IN over a subquery that outgrows work_mem
    would be rescanned for every holding.
    """
    if dialect == "sqlite":
        active = select(_T.entry_id, _T.child_id).where(_T.child_id.in_(chunk), _T.status == "active")
        return tuple_(_F.entry_id, _F.child_id).not_in(active)
    return ~exists().where(_T.entry_id == _F.entry_id, _T.child_id == _F.child_id, _T.status == "active")


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
    columns = entry_columns(conn.dialect.name)
    entry_child = {entry_id: child_id for child_id, entries in partial.items() for entry_id in entries}

    def add_rows(where: Any, only_batch: bool) -> None:
        result = conn.execute(select(*columns).where(where, _T.status == "active"))
        keys = tuple(result.keys())
        for values in result:
            entry_id, child_id = values[0], values[1]
            if only_batch and entry_child.get(entry_id) != child_id:
                continue
            row = dict(zip(keys, values, strict=True))
            row["occurred_at"] = _moment(values[2])
            for name in _DECODED:
                text = row[RAW[name]]
                row[name] = None if text is None else orjson.loads(text)
            out.rows[child_id][entry_id] = row

    def add_held(where: Any, only_batch: bool) -> None:
        held = out.held
        for recipient, entry_id, child_id, level, record_id in conn.execute(
            select(*_HOLDING_COLUMNS).where(_F.recipient.in_(recipients), where)
        ):
            if only_batch and entry_child.get(entry_id) != child_id:
                continue
            held[child_id].setdefault(recipient, {})[entry_id] = Sent(level, record_id)

    for chunk in chunked(whole):
        add_rows(_T.child_id.in_(chunk), False)
        add_held(_F.child_id.in_(chunk), False)
    for chunk in chunked(entry_child):
        add_rows(_T.entry_id.in_(chunk), True)
        add_held(_F.entry_id.in_(chunk), True)
    for chunk in chunked(partial):
        add_held(and_(_F.child_id.in_(chunk), _F.level.in_(sorted(HELD)), _gone(conn.dialect.name, chunk)), False)
    return out
