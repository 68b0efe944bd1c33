"""Read models over the access log for IG officers: search, a child's disclosures, break-glass reviews.

Everything returned is metadata (who, what entry ids at which level, when, why, from where); the log never
holds clinical content, and nothing here joins to the timeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, and_, select

from hub.audit.log import BREAK_GLASS, as_utc
from hub.db.audit_tables import audit_reviews, audit_staff_directory
from hub.db.identity_tables import identity_records
from hub.db.tables import audit_log

DECISIONS = ("appropriate", "inappropriate")
# The actions the hub writes (hub.audit.log's constants, the outbound "disclosure", governance's legal hold),
# offered as suggestions on the IG page; the search takes any action as free text.
KNOWN_ACTIONS = (
    "read",
    "query",
    "deny",
    "break-glass",
    "disclosure",
    "consent-change",
    "identity-link",
    "identity-unlink",
    "policy-change",
    "ig-access",
    "ig-review",
    "legal-hold",
    "purge",
)
OUTCOMES = ("success", "denied", "not-found", "error")


@dataclass(frozen=True)
class AuditQuery:
    child_id: str | None = None
    child_ids: tuple[str, ...] | None = None  # the children a search by NHS number or name matched (maybe none)
    user_id: str | None = None
    organisation: str | None = None
    role: str | None = None
    purpose: str | None = None
    outcome: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    legitimate_relationship: bool | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        c = audit_log.c
        equal = {
            c.child_id: self.child_id,
            c.user_id: self.user_id,
            c.organisation: self.organisation,
            c.role: self.role,
            c.purpose: self.purpose,
            c.outcome: self.outcome,
            c.action: self.action,
            c.legitimate_relationship: self.legitimate_relationship,
        }
        for column, value in equal.items():
            if value is not None:
                query = query.where(column == value)
        if self.child_ids is not None:
            query = query.where(c.child_id.in_(self.child_ids))
        if self.since is not None:
            query = query.where(c.recorded_at >= as_utc(self.since))
        if self.until is not None:
            query = query.where(c.recorded_at < as_utc(self.until))
        return query


def as_item(row: Any) -> dict[str, Any]:
    """The IG view of one record (BALP fields, camelCase as the API returns them)."""
    m = row._mapping
    return {
        "seq": m["seq"],
        "recordedAt": as_utc(m["recorded_at"]).isoformat(),
        "action": m["action"],
        "outcome": m["outcome"],
        "user": m["user_id"],
        "organisation": m["organisation"],
        "role": m["role"],
        "purpose": m["purpose"],
        "childId": m["child_id"],
        "query": m["query"],
        "entries": m["entries"] or [],
        "clientAddress": m["client_address"],
        "policyVersion": m["policy_version"],
        "reason": m["reason"],
        "legitimateRelationship": m["legitimate_relationship"],
        "detail": m["detail"],
    }


_COLUMNS = [
    audit_log.c[n]
    for n in (
        "seq",
        "recorded_at",
        "action",
        "outcome",
        "user_id",
        "organisation",
        "role",
        "purpose",
        "child_id",
        "query",
        "entries",
        "client_address",
        "policy_version",
        "reason",
        "legitimate_relationship",
        "detail",
    )
]


def search(
    conn: Connection, query: AuditQuery, limit: int = 50, before: int | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest first, keyset-paged by seq: (items, the `before` cursor of the next page or None)."""
    stmt = query.apply(select(*_COLUMNS))
    if before is not None:
        stmt = stmt.where(audit_log.c.seq < before)
    rows = conn.execute(stmt.order_by(audit_log.c.seq.desc()).limit(limit + 1)).all()
    items = [as_item(r) for r in rows[:limit]]
    return items, (items[-1]["seq"] if len(rows) > limit else None)


def iterate(conn: Connection, query: AuditQuery, chunk: int = 5000) -> Iterator[dict[str, Any]]:
    """Oldest first, every matching record, streamed (exports and alert evaluation)."""
    stmt = query.apply(select(*_COLUMNS)).order_by(audit_log.c.seq)
    for row in conn.execute(stmt, execution_options={"stream_results": True, "yield_per": chunk}):
        yield as_item(row)


def break_glass_queue(
    conn: Connection, review_days: int, now: datetime, include_decided: bool = False
) -> list[dict[str, Any]]:
    """Break-glass accesses with their review deadline, oldest due first; decided ones only if asked."""
    stmt = (
        select(*_COLUMNS, audit_reviews.c.decision, audit_reviews.c.reviewer, audit_reviews.c.decided_at)
        .outerjoin(audit_reviews, audit_reviews.c.audit_seq == audit_log.c.seq)
        .where(audit_log.c.action == BREAK_GLASS)
        .order_by(audit_log.c.seq)
    )
    if not include_decided:
        stmt = stmt.where(audit_reviews.c.decision.is_(None))
    out = []
    for row in conn.execute(stmt):
        item = as_item(row)
        due = as_utc(row.recorded_at) + timedelta(days=review_days)
        item["reviewDue"] = due.isoformat()
        item["overdue"] = row.decision is None and as_utc(now) > due
        item["review"] = (
            None
            if row.decision is None
            else {"decision": row.decision, "reviewer": row.reviewer, "decidedAt": as_utc(row.decided_at).isoformat()}
        )
        out.append(item)
    return out


class ReviewError(Exception):
    """The record is not a break-glass access, or it has already been reviewed."""


def record_review(conn: Connection, seq: int, decision: str, reviewer: str, note: str | None, now: datetime) -> None:
    if decision not in DECISIONS:
        raise ReviewError(f"decision must be one of {', '.join(DECISIONS)}")
    action = conn.execute(select(audit_log.c.action).where(audit_log.c.seq == seq)).scalar()
    if action != BREAK_GLASS:
        raise ReviewError("no break-glass access with that seq")
    done = conn.execute(select(audit_reviews.c.audit_seq).where(and_(audit_reviews.c.audit_seq == seq))).first()
    if done is not None:
        raise ReviewError("that break-glass access has already been reviewed")
    conn.execute(
        audit_reviews.insert().values(
            audit_seq=seq, decision=decision, reviewer=reviewer, decided_at=as_utc(now), note=note
        )
    )


def staff_directory(conn: Connection) -> dict[str, tuple[str, str]]:
    """user id -> (family name, postcode), for the surname/postcode alert only."""
    rows = conn.execute(
        select(audit_staff_directory.c.user_id, audit_staff_directory.c.family_name, audit_staff_directory.c.postcode)
    )
    return {r.user_id: (r.family_name, r.postcode) for r in rows}


def child_demographics(conn: Connection, child_ids: set[str]) -> dict[str, set[tuple[str, str]]]:
    """child id -> every (family name, postcode) a source has recorded for the child."""
    out: dict[str, set[tuple[str, str]]] = {}
    ids = sorted(child_ids)
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(identity_records.c.child_id, identity_records.c.family_name, identity_records.c.postcode).where(
                identity_records.c.child_id.in_(ids[start : start + 500])
            )
        )
        for r in rows:
            out.setdefault(r.child_id, set()).add((r.family_name, r.postcode))
    return out
