"""Findings as Observations and Conditions: assessments, THRIVE groupings, school measures, concerns."""

from __future__ import annotations

from typing import Any

from hub.fhir.meta import Served, kind_concept

_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"


def _base(item: Served, detail: dict[str, Any] | None, code_text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "status": "final",
        "code": kind_concept(item.row["kind"], code_text),
        "effectiveDateTime": item.row["occurred_at"].isoformat(),
    }
    if detail is not None:
        out["performer"] = [item.org_ref()]
    return out


def assessment(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    out = _base(item, detail, (detail or {}).get("assessment_type"))
    out["category"] = [{"coding": [{"system": _OBS_CATEGORY, "code": "survey"}]}]
    if detail is not None:
        if detail.get("score") is not None:
            out["valueString"] = str(detail["score"])
        if detail.get("tool"):
            out["method"] = {"text": str(detail["tool"])}
        if detail.get("outcome"):
            out["interpretation"] = [{"text": str(detail["outcome"])}]
    return out


def thrive(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    """The THRIVE grouping is a need described now; the agreed ending travels with it as a note."""
    out = _base(item, detail, "THRIVE grouping")
    if detail is not None:
        out["valueString"] = str(detail.get("grouping") or "")
        notes = [f"Agreed ending: {detail['agreed_ending']}"] if detail.get("agreed_ending") else []
        notes += [f"Young person's view: {detail['young_person_view']}"] if detail.get("young_person_view") else []
        if notes:
            out["note"] = [{"text": n} for n in notes]
    return out


def finding(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    """Any other record (attendance, SEN status, exclusion, ...): the summary as the value, detail as notes."""
    out = _base(item, detail)
    if detail is not None:
        out["valueString"] = item.row["summary"]
        facts = [
            f"{k.replace('_', ' ')}: {v}" for k, v in sorted(detail.items()) if k != "type" and v not in (None, [], {})
        ]
        if facts:
            out["note"] = [{"text": "; ".join(facts)}]
    return out


def concern(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "clinicalStatus": {"coding": [{"system": _CLINICAL_STATUS, "code": "active"}]},
        "category": [{"coding": [{"system": _CONDITION_CATEGORY, "code": "problem-list-item"}]}],
        "code": kind_concept(item.row["kind"], (detail or {}).get("concern_type")),
        "recordedDate": item.row["occurred_at"].isoformat(),
    }
    if detail is not None:
        out["asserter"] = item.org_ref()
        if detail.get("severity"):
            out["severity"] = {"text": str(detail["severity"])}
        notes = [
            f"{k.replace('_', ' ')}: {detail[k]}"
            for k in ("concern_category", "raised_by_role", "action_taken")
            if detail.get(k)
        ]
        if notes:
            out["note"] = [{"text": n} for n in notes]
    return out
