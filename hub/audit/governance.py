"""Audit records for governance acts other components perform: consent changes, identity links and unlinks,
policy changes, break-glass and denials. Each builder returns an AuditRecord for `hub.audit.log.append`, to be
appended in the same transaction as the act, so every path records the same BALP-shaped metadata.

Who acted is the steward, clinician or system that decided (a processor acting on an event uses the source's
recorded decision maker, or `system` with the organisation). Never pass clinical content: ids and reasons only.
"""

from __future__ import annotations

from hub.audit.log import (
    BREAK_GLASS,
    CONSENT_CHANGE,
    DENY,
    IDENTITY_LINK,
    IDENTITY_UNLINK,
    POLICY_CHANGE,
    AuditRecord,
)


def consent_change(
    user_id: str,
    organisation: str,
    role: str,
    child_id: str,
    consent_id: str,
    status: str,
    policy_version: str | None = None,
) -> AuditRecord:
    return AuditRecord(
        action=CONSENT_CHANGE,
        outcome="success",
        user_id=user_id,
        organisation=organisation,
        role=role,
        purpose="direct-care",
        child_id=child_id,
        policy_version=policy_version,
        detail={"consentId": consent_id, "status": status},
    )


def identity_link(
    user_id: str,
    organisation: str,
    child_id: str,
    other_child_id: str,
    reason: str,
    linked: bool = True,
) -> AuditRecord:
    """A merge (linked=True) or unmerge of two children's records, by a data steward or an exact-match rule."""
    return AuditRecord(
        action=IDENTITY_LINK if linked else IDENTITY_UNLINK,
        outcome="success",
        user_id=user_id,
        organisation=organisation,
        role="data-steward",
        purpose="direct-care",
        child_id=child_id,
        reason=reason,
        detail={"otherChildId": other_child_id},
    )


def policy_change(
    user_id: str, organisation: str, old_version: str | None, new_version: str, digest: str
) -> AuditRecord:
    return AuditRecord(
        action=POLICY_CHANGE,
        outcome="success",
        user_id=user_id,
        organisation=organisation,
        role="policy-admin",
        purpose="audit",
        policy_version=new_version,
        detail={"from": old_version, "to": new_version, "digest": digest},
    )


def break_glass(
    user_id: str,
    organisation: str,
    role: str,
    purpose: str,
    child_id: str,
    reason: str,
    entries: list[dict[str, str]],
    policy_version: str | None,
    client_address: str | None,
) -> AuditRecord:
    """An emergency access without a legitimate relationship: it enters the IG review queue."""
    return AuditRecord(
        action=BREAK_GLASS,
        outcome="success",
        user_id=user_id,
        organisation=organisation,
        role=role,
        purpose=purpose,
        child_id=child_id,
        entries=entries,
        reason=reason,
        policy_version=policy_version,
        client_address=client_address,
        legitimate_relationship=False,
    )


def denial(
    user_id: str,
    organisation: str,
    role: str,
    purpose: str,
    what: str,
    child_id: str | None,
    client_address: str | None,
    reason: str | None = None,
) -> AuditRecord:
    """A refused request; the practitioner saw a generic refusal, IG sees why (`reason`)."""
    return AuditRecord(
        action=DENY,
        outcome="denied",
        user_id=user_id,
        organisation=organisation,
        role=role,
        purpose=purpose,
        child_id=child_id,
        query=what,
        client_address=client_address,
        reason=reason,
    )
