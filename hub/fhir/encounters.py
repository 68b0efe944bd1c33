"""Contacts with a service as Encounters: clinic encounters, appointments and VCSE sessions.

Builders get the served item and the payload detail (None at summary level) and return the type-specific
fields; `hub.fhir.mapping` adds id, meta, subject and narrative. Summary level keeps only what R4 requires.
"""

from __future__ import annotations

from typing import Any

from hub.fhir.meta import Served, organisation_ref

_ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_CLASSES = {
    "inpatient": "IMP",
    "outpatient": "AMB",
    "ambulatory": "AMB",
    "emergency": "EMER",
    "virtual": "VR",
    "home": "HH",
    "community": "AMB",
}
_APPOINTMENT_STATUS = {
    "booked": "planned",
    "arrived": "arrived",
    "fulfilled": "finished",
    "cancelled": "cancelled",
    "noshow": "cancelled",
    "dna": "cancelled",
    "attended": "finished",
}


def _klass(code: str) -> dict[str, str]:
    return {"system": _ACT, "code": code}


def _period(item: Served) -> dict[str, str]:
    return {"start": item.row["occurred_at"].isoformat()}


def encounter(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    raw = str((detail or {}).get("encounter_class") or "").lower()
    out: dict[str, Any] = {"status": "finished", "class": _klass(_CLASSES.get(raw, "AMB")), "period": _period(item)}
    if detail is not None:
        out["serviceProvider"] = organisation_ref(item.row["source_org"], item.org_name)
        if detail.get("clinician"):
            out["participant"] = [{"individual": {"display": str(detail["clinician"])}}]
        if detail.get("location"):
            out["location"] = [{"location": {"display": str(detail["location"])}}]
    return out


def appointment(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    status = _APPOINTMENT_STATUS.get(str((detail or {}).get("status") or "").lower(), "planned")
    out: dict[str, Any] = {"status": status, "class": _klass("AMB"), "period": _period(item)}
    if detail is not None:
        out["serviceProvider"] = organisation_ref(item.row["source_org"], item.org_name)
        if detail.get("service"):
            out["serviceType"] = {"text": str(detail["service"])}
        if detail.get("reason"):
            out["reasonCode"] = [{"text": str(detail["reason"])}]
        if detail.get("clinician"):
            out["participant"] = [{"individual": {"display": str(detail["clinician"])}}]
    return out


def vcse_session(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    attended = (detail or {}).get("attended")
    out: dict[str, Any] = {
        "status": "cancelled" if attended is False else "finished",
        "class": _klass("AMB"),
        "period": _period(item),
    }
    if detail is not None:
        out["serviceProvider"] = organisation_ref(item.row["source_org"], item.org_name)
        kind = detail.get("session_type") or detail.get("service")
        if kind:
            out["type"] = [{"text": str(kind)}]
    return out
