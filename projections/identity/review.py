"""The data stewards' review queue: list pairs, decide link / not-the-same-child, list and undo merges.

Shared by the HTTP API and the command line so both record the same decision, merge and audit rows in the
caller's single transaction. Every decision names who made it and why; nothing is decided without a reason.
Reading the queue is audited by the read layer (hub.read.identity_reviews), like every other read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Connection, select

from hub.audit import log as audit
from hub.db.identity_tables import identity_merges, identity_records, identity_reviews
from projections.identity.merging import (
    Actor,
    IdentityError,
    Reproject,
    current_child,
    lock_registry,
    merge_children,
    record_decision,
    unmerge,
)
from projections.identity.rules import pair_key

Decision = Literal["link", "not-same"]


class ReviewNotFound(IdentityError):
    """No review item with that id."""


class AlreadyDecided(IdentityError):
    """The review item was decided before; decisions are not silently overwritten (unmerge instead)."""


@dataclass(frozen=True)
class Steward:
    """Who is deciding, as the audit log records them."""

    user: str
    organisation: str
    role: str
    purpose: str
    client_address: str | None = None

    def actor(self) -> Actor:
        return Actor(self.user, self.organisation, "steward")


def _side(conn: Connection, child_id: str, record_key: str | None) -> dict[str, Any]:
    """What a steward compares: the child's source records' demographics (they are entitled to see them)."""
    rows = conn.execute(select(identity_records).where(identity_records.c.child_id == current_child(conn, child_id)))
    records = []
    for r in rows:
        birth: date | None = r.birth_date
        records.append(
            {
                "source": r.source_org,
                "given_name": r.given_name,
                "family_name": r.family_name,
                "birth_date": birth.isoformat() if birth else None,
                "sex": r.sex or None,
                "postcode": r.postcode or None,
                "identifiers": [{"system": s, "value": v} for s, v in r.identifiers],
                "flagged_identifiers": [{"system": s, "reason": why} for s, why in r.invalid_identifiers],
                "this_pair": r.record_key == record_key,
            }
        )
    return {"childId": current_child(conn, child_id), "records": records}


def _item(conn: Connection, row: Any, with_records: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": row.review_id,
        "reason": row.reason,
        "score": row.score,
        "detail": row.detail,
        "status": row.status,
        "createdAt": row.created_at.isoformat(),
    }
    if row.status != "open":
        item |= {
            "decidedBy": row.decided_by,
            "decisionReason": row.decision_reason,
            "decidedAt": row.decided_at.isoformat() if row.decided_at else None,
        }
    if with_records:
        item["a"] = _side(conn, row.child_a, row.record_a)
        item["b"] = _side(conn, row.child_b, row.record_b)
    else:
        item["a"] = {"childId": current_child(conn, row.child_a)}
        item["b"] = {"childId": current_child(conn, row.child_b)}
    return item


def list_reviews(
    conn: Connection, status: str = "open", limit: int = 50, with_records: bool = True
) -> list[dict[str, Any]]:
    """The queue as stored; a steward reads it through hub.read.identity_reviews, which audits the read."""
    rows = list(
        conn.execute(
            select(identity_reviews)
            .where(identity_reviews.c.status == status)
            .order_by(identity_reviews.c.created_at, identity_reviews.c.review_id)
            .limit(limit)
        )
    )
    return [_item(conn, r, with_records) for r in rows]


def decide(
    conn: Connection,
    review_id: str,
    decision: Decision,
    steward: Steward,
    reason: str,
    now: datetime,
    reproject: Reproject | None = None,
) -> dict[str, Any]:
    """Link (merge the newer child into the known one) or record that they are not the same child."""
    if not reason.strip():
        raise IdentityError("a reason is required")
    lock_registry(conn)
    row = conn.execute(select(identity_reviews).where(identity_reviews.c.review_id == review_id)).first()
    if row is None:
        raise ReviewNotFound("no such review item")
    if row.status != "open":
        raise AlreadyDecided(f"already decided: {row.status}")
    surviving, other = current_child(conn, row.child_a), current_child(conn, row.child_b)
    merge_id = None
    if decision == "link":
        merge_id = (
            merge_children(
                conn, surviving, other, steward.actor(), reason, now, review_id=review_id, reproject=reproject
            )
            or None
        )
        action = "identity-link"
    else:
        record_decision(
            conn,
            "not-same",
            steward.actor(),
            now,
            review_id=review_id,
            surviving=surviving,
            retired=other,
            reason=reason,
        )
        action = "identity-unlink"
    conn.execute(
        identity_reviews.update()
        .where(identity_reviews.c.review_id == review_id)
        .values(
            status="linked" if decision == "link" else "not-same",
            decided_at=now,
            decided_by=steward.user,
            decision_reason=reason,
        )
    )
    audit_steward(
        conn,
        steward,
        action,
        surviving,
        f"review:{review_id} decision={decision}",
        [{"id": other, "level": "merged" if decision == "link" else "distinct"}],
        now,
    )
    return {"id": review_id, "decision": decision, "childId": surviving, "otherChildId": other, "mergeId": merge_id}


def list_merges(conn: Connection, child_id: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    query = select(identity_merges).order_by(identity_merges.c.merged_at.desc())
    if child_id:
        query = query.where(
            (identity_merges.c.surviving_child_id == child_id) | (identity_merges.c.retired_child_id == child_id)
        )
    if status:
        query = query.where(identity_merges.c.status == status)
    return [
        {
            "id": r.merge_id,
            "survivingChildId": r.surviving_child_id,
            "retiredChildId": r.retired_child_id,
            "status": r.status,
            "source": r.source,
            "reason": r.reason,
            "mergedAt": r.merged_at.isoformat(),
            "records": len(r.record_keys),
            "unmergedAt": r.unmerged_at.isoformat() if r.unmerged_at else None,
        }
        for r in conn.execute(query)
    ]


def undo_merge(
    conn: Connection, merge_id: str, steward: Steward, reason: str, now: datetime, reproject: Reproject | None = None
) -> dict[str, Any]:
    """Unmerge, and record the pair as not the same child so the registry does not link them again."""
    if not reason.strip():
        raise IdentityError("a reason is required")
    surviving, restored = unmerge(conn, merge_id, steward.actor(), reason, now, reproject)
    pk = pair_key(surviving, restored)
    updated = conn.execute(
        identity_reviews.update()
        .where(identity_reviews.c.pair_key == pk)
        .values(status="not-same", decided_at=now, decided_by=steward.user, decision_reason=reason)
    )
    if updated.rowcount == 0:
        conn.execute(
            identity_reviews.insert().values(
                review_id=merge_id,
                pair_key=pk,
                child_a=surviving,
                child_b=restored,
                record_a=None,
                record_b=None,
                reason="unmerged",
                score=None,
                detail={},
                status="not-same",
                created_at=now,
                decided_at=now,
                decided_by=steward.user,
                decision_reason=reason,
            )
        )
    audit_steward(
        conn, steward, "identity-unlink", surviving, f"unmerge:{merge_id}", [{"id": restored, "level": "restored"}], now
    )
    return {"mergeId": merge_id, "childId": surviving, "restoredChildId": restored}


def audit_steward(
    conn: Connection,
    steward: Steward,
    action: str,
    child_id: str | None,
    query: str,
    entries: list[dict[str, str]],
    now: datetime,
) -> None:
    """One access-log record of a steward's act: decisions and merges here, reading the queue in hub.read."""
    audit.append(
        conn,
        audit.AuditRecord(
            action=action,
            outcome="success",
            user_id=steward.user,
            organisation=steward.organisation,
            role=steward.role,
            purpose=steward.purpose,
            child_id=child_id,
            query=query,
            entries=entries,
            client_address=steward.client_address,
        ),
        now,
    )
