"""Recording which data-sharing policy is in force: a policy-change audit record whenever it differs.

Workers call this at start-up; the policy's digest (sha256 of its canonical form) identifies it, so an edited
policy that kept its version label is still recorded as a change.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from consent_engine import Policy
from hub.audit import governance
from hub.audit import log as audit
from hub.db.tables import audit_log


def record_policy_in_force(
    engine: Engine, policy: Policy, actor: str = "system:worker", organisation: str = "ONESTORY"
) -> bool:
    """Append a policy-change record if the last one names another policy; returns whether it did."""
    with engine.begin() as conn:
        last = conn.execute(
            select(audit_log.c.policy_version, audit_log.c.detail)
            .where(audit_log.c.action == audit.POLICY_CHANGE)
            .order_by(audit_log.c.seq.desc())
            .limit(1)
        ).first()
        if last is not None and (last.detail or {}).get("digest") == policy.digest:
            return False
        record = governance.policy_change(
            actor, organisation, last.policy_version if last else None, policy.version, policy.digest
        )
        audit.append(conn, record, datetime.now(UTC))
        return True
