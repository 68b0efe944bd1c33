"""Retention with legal hold: the only way audit records ever leave the database.

Normal operations never delete audit records. A purge removes only a *prefix* of the chain whose records are
all older than the retention period and none of which concerns a child under legal hold; it keeps the last
purged hash as the chain's new anchor, records itself in the chain (who, how many, which seq range, the anchor)
and is followed by a signed checkpoint, so verification still passes afterwards and the anchor is witnessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select, text, update

from hub.audit.log import HEAD_ID, PURGE, AuditRecord, append, as_utc, chain_head
from hub.db.audit_tables import audit_chain_head, audit_legal_holds
from hub.db.tables import audit_log


class PurgeRefused(Exception):
    """The requested range holds a record under legal hold or within retention; nothing was deleted."""


@dataclass(frozen=True)
class PurgeResult:
    purged: int
    from_seq: int
    to_seq: int
    anchor_hash: str


def place_hold(conn: Connection, child_id: str, reason: str, placed_by: str, now: datetime) -> None:
    conn.execute(audit_legal_holds.delete().where(audit_legal_holds.c.child_id == child_id))
    conn.execute(
        audit_legal_holds.insert().values(child_id=child_id, reason=reason, placed_by=placed_by, placed_at=as_utc(now))
    )


def release_hold(conn: Connection, child_id: str) -> bool:
    return conn.execute(audit_legal_holds.delete().where(audit_legal_holds.c.child_id == child_id)).rowcount > 0


def purge(
    conn: Connection, retention_days: int, now: datetime, actor: str, up_to_seq: int | None = None, chunk: int = 20_000
) -> PurgeResult:
    """Delete the longest purgeable prefix (or exactly up to `up_to_seq`, refusing if any of it must stay)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7253001)"))
    conn.execute(
        update(audit_chain_head).where(audit_chain_head.c.id == HEAD_ID).values(seq=audit_chain_head.c.seq)
    )  # take the write lock before reading the head
    head_seq, _, anchor_seq, _ = chain_head(conn)
    cutoff = as_utc(now) - timedelta(days=retention_days)
    held = set(conn.execute(select(audit_legal_holds.c.child_id)).scalars())
    limit = head_seq if up_to_seq is None else min(up_to_seq, head_seq)
    last_seq, last_hash = anchor_seq, None
    rows = conn.execute(
        select(audit_log.c.seq, audit_log.c.recorded_at, audit_log.c.child_id, audit_log.c.record_hash)
        .where(audit_log.c.seq > anchor_seq, audit_log.c.seq <= limit)
        .order_by(audit_log.c.seq),
        execution_options={"yield_per": chunk},
    )
    for row in rows:
        blocked = (
            "under legal hold"
            if row.child_id in held
            else ("within retention" if as_utc(row.recorded_at) >= cutoff else None)
        )
        if blocked:
            if up_to_seq is not None:
                raise PurgeRefused(f"record {row.seq} is {blocked}")
            break
        last_seq, last_hash = row.seq, row.record_hash
    rows.close()
    if last_hash is None:
        raise PurgeRefused("no record is both past retention and free of legal hold")
    conn.execute(delete(audit_log).where(audit_log.c.seq > anchor_seq, audit_log.c.seq <= last_seq))
    conn.execute(
        update(audit_chain_head)
        .where(audit_chain_head.c.id == HEAD_ID)
        .values(anchor_seq=last_seq, anchor_hash=last_hash)
    )
    result = PurgeResult(last_seq - anchor_seq, anchor_seq + 1, last_seq, last_hash)
    append(
        conn,
        AuditRecord(
            action=PURGE,
            outcome="success",
            user_id=actor,
            organisation="hub",
            role="ig-officer",
            purpose="audit",
            reason=f"retention {retention_days} days",
            detail={
                "fromSeq": result.from_seq,
                "toSeq": result.to_seq,
                "purged": result.purged,
                "anchorHash": last_hash,
            },
        ),
        now,
    )
    return result
