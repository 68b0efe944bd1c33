"""Break-glass: a practitioner's declared emergency access to one child, time-limited by the policy.

The policy (`break_glass:` in the policy YAML) says which reasons count, which roles acting for which purposes
may declare it, the most it opens (`max_level`) and for how long (`max_minutes`). Declaring stores the
declaration here; while it is in force, every read by the same user (same organisation, role and purpose) of
that child decides with the declaration on the consent engine's Viewer, so the engine, not this module,
opens what the policy allows (a legitimate relationship stands in for nothing else: consent and the matrix
still apply). Expiry, or ending it early, closes it: reads decide without it again.

`check` is pure; the rest are small SQL functions called inside the caller's transaction.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from consent_engine import BreakGlass, Policy, Viewer
from hub.db.break_glass_tables import break_glass_declarations as table
from hub.disclosure.decide import aware

MAX_JUSTIFICATION = 2000


class Refused(Exception):
    """This viewer may not break glass (role or purpose), or the policy allows none: a 403."""


class Invalid(Exception):
    """The declaration itself is wrong (unknown reason, no justification, too long): a 422."""


@dataclass(frozen=True)
class Declaration:
    declaration_id: str
    child_id: str
    user_id: str
    organisation: str
    role: str
    purpose: str
    reason: str
    justification: str
    starts_at: datetime
    expires_at: datetime

    def as_json(self, policy: Policy) -> dict[str, Any]:
        """What the declarer is told: never anything about the child beyond the id they gave."""
        rules = policy.break_glass
        return {
            "id": self.declaration_id,
            "childId": self.child_id,
            "reason": self.reason,
            "reasonText": rules.reasons.get(self.reason, self.reason) if rules else self.reason,
            "justification": self.justification,
            "startsAt": self.starts_at.isoformat(),
            "expiresAt": self.expires_at.isoformat(),
            "maxLevel": rules.max_level.value if rules else "none",
        }

    def on(self, viewer: Viewer) -> Viewer:
        """The consent engine's viewer with this declaration: the engine decides what it opens."""
        glass = BreakGlass(
            reason=self.reason,
            justification=self.justification,
            child_id=self.child_id,
            starts_at=self.starts_at,
            expires_at=self.expires_at,
        )
        return dataclasses.replace(viewer, break_glass=glass)


def offer(policy: Policy, role: str, purpose: str) -> dict[str, Any]:
    """The reasons a declaration may give and how long it lasts; `allowed` for this role and purpose."""
    rules = policy.break_glass
    if rules is None:
        return {"allowed": False, "reasons": [], "maxMinutes": 0, "maxLevel": "none"}
    return {
        "allowed": role in rules.roles and purpose in rules.purposes,
        "reasons": [{"code": code, "text": text} for code, text in rules.reasons.items()],
        "maxMinutes": int(rules.max_duration.total_seconds() // 60),
        "maxLevel": rules.max_level.value,
    }


def check(policy: Policy, role: str, purpose: str, reason: str, justification: str, minutes: int | None) -> timedelta:
    """How long the declaration lasts (the policy's maximum unless fewer minutes are asked); else why not."""
    rules = policy.break_glass
    if rules is None:
        raise Refused("this data-sharing policy does not allow break-glass")
    if role not in rules.roles or purpose not in rules.purposes:
        raise Refused(f"role '{role}' acting for '{purpose}' may not break glass under this policy")
    if reason not in rules.reasons:
        raise Invalid(f"reason must be one of: {', '.join(rules.reasons)}")
    if not justification.strip():
        raise Invalid("say why, in your own words (justification)")
    if len(justification) > MAX_JUSTIFICATION:
        raise Invalid(f"the justification is longer than {MAX_JUSTIFICATION} characters")
    if minutes is None:
        return rules.max_duration
    if minutes < 1 or timedelta(minutes=minutes) > rules.max_duration:
        raise Invalid(f"minutes must be between 1 and {int(rules.max_duration.total_seconds() // 60)}")
    return timedelta(minutes=minutes)


def new_declaration(
    viewer: Viewer, child_id: str, reason: str, justification: str, now: datetime, lasts: timedelta
) -> Declaration:
    return Declaration(
        declaration_id=str(uuid.uuid4()),
        child_id=child_id,
        user_id=viewer.user_id,
        organisation=viewer.organisation,
        role=viewer.role,
        purpose=viewer.purpose,
        reason=reason,
        justification=justification.strip(),
        starts_at=now,
        expires_at=now + lasts,
    )


def store(conn: Connection, declaration: Declaration, audit_hash: str | None) -> None:
    conn.execute(table.insert().values(**dataclasses.asdict(declaration), audit_hash=audit_hash))


def in_force(conn: Connection, viewer: Viewer, child_id: str, now: datetime) -> Declaration | None:
    """The viewer's latest declaration for this child still in force at `now`, if any."""
    row = conn.execute(
        select(table)
        .where(
            table.c.user_id == viewer.user_id,
            table.c.child_id == child_id,
            table.c.organisation == viewer.organisation,
            table.c.role == viewer.role,
            table.c.purpose == viewer.purpose,
            table.c.ended_at.is_(None),
            table.c.starts_at <= now,
            table.c.expires_at > now,
        )
        .order_by(table.c.expires_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    m = row._mapping
    fields = {f.name: m[f.name] for f in dataclasses.fields(Declaration)}
    declaration = Declaration(**(fields | {"starts_at": aware(m["starts_at"]), "expires_at": aware(m["expires_at"])}))
    # SQLite compares the stored text, so check the moment again on aware values.
    return declaration if declaration.starts_at <= now < declaration.expires_at else None


def end(conn: Connection, viewer: Viewer, child_id: str, now: datetime) -> int:
    """End the viewer's declarations for this child now; how many were in force."""
    result = conn.execute(
        update(table)
        .where(
            table.c.user_id == viewer.user_id,
            table.c.child_id == child_id,
            table.c.organisation == viewer.organisation,
            table.c.ended_at.is_(None),
            table.c.expires_at > now,
        )
        .values(ended_at=now)
    )
    return int(result.rowcount or 0)
