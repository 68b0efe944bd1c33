"""Merge and unmerge: both children re-projected in ONE transaction, with a merge record kept for undo.

A merge moves every row of the retired child (source records, identifiers, event store, timeline) to the
surviving child and retires the child row, so no reader can see the retired child's entries under either
id while the switch happens: the caller's transaction either commits all of it or none. An unmerge moves
back exactly the records that were the retired child's at merge time and every event that came through
them (identity_event_links), including events that arrived after the merge.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, text, tuple_

from hub.db.identity_tables import identity_decisions, identity_event_links, identity_merges, identity_records
from hub.db.projection_tables import consent_pending
from hub.db.tables import child_identifiers, children, event_store, timeline_entries
from projections.identity.decision_feed import decision_record, queue_decision
from projections.identity.lookups import Lookups, drop_snapshot

_LOCK_ID = 7253005
Reproject = Callable[[Connection, Sequence[str]], None]


class IdentityError(ValueError):
    """A merge or unmerge that cannot be done as asked (unknown child or merge, already undone, ...)."""


@dataclass(frozen=True)
class Actor:
    """Who decided, for the decision record and the audit log."""

    user: str
    organisation: str
    source: str  # steward | adt-a40 | registry


def lock_registry(conn: Connection) -> None:
    """Serialise identity writes across workers and API replicas on PostgreSQL (SQLite serialises writes)."""
    if conn.dialect.name == "postgresql":
        tx = conn.get_transaction()
        if conn.info.get("identity_lock_tx") is not tx:
            conn.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK_ID})"))
            conn.info["identity_lock_tx"] = tx


def current_child(conn: Connection, child_id: str) -> str:
    """Follow active merges from a retired child to the child that now holds its records.

    Plain SQL through the driver (Lookups): asked for every new source record, where building the
    SQLAlchemy statement cost several times the indexed lookup itself."""
    return Lookups(conn).current_child(child_id)


def record_decision(
    conn: Connection,
    kind: str,
    actor: Actor,
    now: datetime,
    *,
    merge_id: str | None = None,
    review_id: str | None = None,
    surviving: str | None = None,
    retired: str | None = None,
    reason: str | None = None,
) -> str:
    decision_id = str(uuid.uuid4())
    conn.execute(
        identity_decisions.insert().values(
            decision_id=decision_id,
            kind=kind,
            review_id=review_id,
            merge_id=merge_id,
            surviving_child_id=surviving,
            retired_child_id=retired,
            source=actor.source,
            decided_by=actor.user,
            organisation=actor.organisation,
            reason=reason,
            decided_at=now,
        )
    )
    record = decision_record(
        decision_id,
        kind,
        actor.source,
        actor.user,
        actor.organisation,
        now,
        surviving=surviving,
        retired=retired,
        merge_id=merge_id,
        review_id=review_id,
    )
    queue_decision(conn, record, now)  # relayed on onestory.identity.v1 once this transaction commits
    return decision_id


def merge_children(
    conn: Connection,
    surviving: str,
    retired: str,
    actor: Actor,
    reason: str | None,
    now: datetime,
    review_id: str | None = None,
    reproject: Reproject | None = None,
) -> str:
    """Fold ``retired`` into ``surviving``; returns the merge id. Idempotent for an already-merged pair.

    With ``reproject`` every projection of both children is derived again from the moved event store rows;
    without it (the bench, or a registry with no projection context) timeline rows are moved as they are.
    """
    lock_registry(conn)
    drop_snapshot(conn)  # records and identifiers move: the batch's snapshot of who holds them is stale
    surviving, retired = current_child(conn, surviving), current_child(conn, retired)
    if surviving == retired:
        existing = conn.execute(
            select(identity_merges.c.merge_id).where(
                identity_merges.c.retired_child_id == retired, identity_merges.c.status == "active"
            )
        ).scalar()
        return str(existing or "")
    for child in (surviving, retired):
        if conn.execute(select(children.c.child_id).where(children.c.child_id == child)).scalar() is None:
            raise IdentityError("unknown child")
    # Ordered, so that a merge's record (and an unmerge that reads it) is the same on every backend and plan.
    record_keys = list(
        conn.execute(
            select(identity_records.c.record_key)
            .where(identity_records.c.child_id == retired)
            .order_by(identity_records.c.record_key)
        ).scalars()
    )
    identifiers = [
        [r.system, r.value]
        for r in conn.execute(
            select(child_identifiers.c.system, child_identifiers.c.value)
            .where(child_identifiers.c.child_id == retired)
            .order_by(child_identifiers.c.system, child_identifiers.c.value)
        )
    ]
    for table in (identity_records, child_identifiers, event_store, consent_pending):
        conn.execute(table.update().where(table.c.child_id == retired).values(child_id=surviving))
    if reproject is None:
        conn.execute(timeline_entries.update().where(timeline_entries.c.child_id == retired).values(child_id=surviving))
    conn.execute(children.delete().where(children.c.child_id == retired))
    if reproject is not None:
        reproject(conn, [surviving, retired])
    merge_id = str(uuid.uuid4())
    conn.execute(
        identity_merges.insert().values(
            merge_id=merge_id,
            surviving_child_id=surviving,
            retired_child_id=retired,
            record_keys=record_keys,
            identifiers=identifiers,
            status="active",
            source=actor.source,
            reason=reason,
            merged_at=now,
        )
    )
    record_decision(
        conn,
        "link",
        actor,
        now,
        merge_id=merge_id,
        review_id=review_id,
        surviving=surviving,
        retired=retired,
        reason=reason,
    )
    return merge_id


def unmerge(
    conn: Connection,
    merge_id: str,
    actor: Actor,
    reason: str | None,
    now: datetime,
    reproject: Reproject | None = None,
) -> tuple[str, str]:
    """Undo a merge: returns (surviving, restored). Records, identifiers and their events go back.

    The records that go back are those the retired child had at merge time, plus records first seen since
    whose validated identifiers are all the retired child's (they can only have come from its identifiers).
    """
    lock_registry(conn)
    drop_snapshot(conn)  # records and identifiers move back: a batch snapshot of who holds them is stale
    row = conn.execute(select(identity_merges).where(identity_merges.c.merge_id == merge_id)).first()
    if row is None:
        raise IdentityError("unknown merge")
    if row.status != "active":
        raise IdentityError("merge already undone")
    retired, surviving = row.retired_child_id, row.surviving_child_id
    holder = current_child(conn, surviving)
    keys: list[str] = list(row.record_keys)
    retired_idents = {tuple(i) for i in row.identifiers}
    later = conn.execute(
        select(identity_records.c.record_key, identity_records.c.identifiers).where(
            identity_records.c.child_id == holder, identity_records.c.first_seen >= row.merged_at
        )
    )
    for rec in later:
        idents = {tuple(i) for i in rec.identifiers}
        if rec.record_key not in keys and idents and idents <= retired_idents:
            keys.append(rec.record_key)
    conn.execute(children.insert().values(child_id=retired, created_at=now))
    if keys:
        conn.execute(identity_records.update().where(identity_records.c.record_key.in_(keys)).values(child_id=retired))
        moved = select(identity_event_links.c.event_id).where(identity_event_links.c.record_key.in_(keys))
        tables = [(event_store, event_store.c.event_id), (consent_pending, consent_pending.c.event_id)]
        if reproject is None:
            tables.append((timeline_entries, timeline_entries.c.entry_id))
        for table, id_column in tables:
            conn.execute(table.update().where(id_column.in_(moved)).values(child_id=retired))
    # Identifiers the retired child had, plus any its records brought in since; shared ones stay put.
    idents = set(retired_idents)
    for rec in conn.execute(select(identity_records.c.identifiers).where(identity_records.c.record_key.in_(keys))):
        idents.update(tuple(i) for i in rec.identifiers)
    kept = {
        tuple(i)
        for rec in conn.execute(select(identity_records.c.identifiers).where(identity_records.c.child_id == holder))
        for i in rec.identifiers
    }
    back = [k for k in idents if k not in kept]
    if back:
        conn.execute(
            child_identifiers.update()
            .where(
                tuple_(child_identifiers.c.system, child_identifiers.c.value).in_(back),
                child_identifiers.c.child_id == holder,
            )
            .values(child_id=retired)
        )
    if reproject is not None:
        reproject(conn, [holder, retired])
    conn.execute(
        identity_merges.update().where(identity_merges.c.merge_id == merge_id).values(status="undone", unmerged_at=now)
    )
    record_decision(conn, "unmerge", actor, now, merge_id=merge_id, surviving=holder, retired=retired, reason=reason)
    return holder, retired
