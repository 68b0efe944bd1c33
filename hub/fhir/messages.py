"""What was said and agreed: Communications, the young person's own words, Consent, and existence-only Flags."""

from __future__ import annotations

from typing import Any

from hub.fhir.meta import Served, patient_ref

_FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
_CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
_LOINC = "http://loinc.org"


def communication(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"status": "completed", "sent": item.row["occurred_at"].isoformat()}
    if detail is not None:
        out["sender"] = item.org_ref()
        if detail.get("topic"):
            out["topic"] = {"text": str(detail["topic"])}
        if detail.get("medium"):
            out["medium"] = [{"text": str(detail["medium"])}]
    return out


def voice(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    """The child's own words: a Communication whose sender is the child, the words as its payload."""
    out: dict[str, Any] = {
        "status": "completed",
        "sent": item.row["occurred_at"].isoformat(),
        "category": [{"text": "voice of the child"}],
    }
    if detail is not None:
        out["sender"] = patient_ref(item.row["child_id"])
        out["recipient"] = [item.org_ref()]
        if detail.get("text"):
            out["payload"] = [{"contentString": str(detail["text"])}]
        if detail.get("topic"):
            out["topic"] = {"text": str(detail["topic"])}
    return out


def consent(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    state = str((detail or {}).get("status") or "").lower()
    out: dict[str, Any] = {
        "status": "inactive" if state in ("withdrawn", "refused", "expired") else "active",
        "scope": {"coding": [{"system": _CONSENT_SCOPE, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": _LOINC, "code": "59284-0"}], "text": "consent to share"}],
        "dateTime": item.row["occurred_at"].isoformat(),
    }
    if detail is not None:
        out["organization"] = [item.org_ref()]
        permit = "deny" if state in ("withdrawn", "refused") else "permit"
        provision: dict[str, Any] = {"type": permit}
        if detail.get("categories"):
            provision["class"] = [{"code": str(c)} for c in detail["categories"]]
        if detail.get("purposes"):
            provision["purpose"] = [{"code": str(p)} for p in detail["purposes"]]
        out["provision"] = provision
        out["policyRule"] = {"text": f"given by {detail.get('given_by') or 'unknown'}"}
    return out


def flag(item: Served) -> dict[str, Any]:
    """Existence only (as CP-IS does): which organisation is involved and whom to contact; nothing else."""
    contact = item.contact or item.message or f"contact {item.org_name}"
    return {
        "status": "active",
        "category": [{"coding": [{"system": _FLAG_CATEGORY, "code": "admin"}]}],
        "code": {"text": f"involved: {item.org_name}, contact {contact}"},
        "author": item.org_ref(),
        "period": {"start": item.row["occurred_at"].isoformat()},
        "subject": patient_ref(item.row["child_id"]),
    }
