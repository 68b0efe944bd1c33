"""Contacts with a service as Encounters: clinic encounters, appointments and VCSE sessions.

Builders get the served item and the payload detail (None at summary level) and return the type-specific
fields; `hub.fhir.mapping` adds id, meta, subject and narrative. Summary level keeps only what R4 requires.
"""

from __future__ import annotations

from typing import Any

from hub.fhir.meta import Served
from hub.fhir.uk_core import uk_core

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
    return uk_core().encounter_class_coding(code)


def _period(item: Served) -> dict[str, str]:
    return {"start": item.row["occurred_at"].isoformat()}


def encounter(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    """Status from the event (admission in progress, discharge finished), class from the patient class (PV1-2).

    Both are required by R4, so a summary carries them too: the class is what the summary already says in
    words ("A&E attendance started"), and the status says only which kind of event this was.
    """
    source = dict(item.row.get("detail") or {})
    codes = uk_core()
    status = codes.encounter_status.get(item.row["kind"]) or ("finished" if source.get("ended_at") else "unknown")
    occurred = item.row["occurred_at"].isoformat()
    period = {"end": occurred} if item.row["kind"] == "encounter.ended" else {"start": occurred}
    if detail is not None:
        period |= {
            k: _iso(detail[field]) for k, field in (("start", "started_at"), ("end", "ended_at")) if detail.get(field)
        }
    out: dict[str, Any] = {
        "status": status,
        "class": codes.encounter_class_coding(source.get("encounter_class")),
        "period": period,
    }
    if detail is not None:
        out["serviceProvider"] = item.org_ref()
        if detail.get("clinician"):
            out["participant"] = [{"individual": {"display": str(detail["clinician"])}}]
        if detail.get("location"):
            out["location"] = [{"location": {"display": str(detail["location"])}}]
    return out


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def appointment(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    status = _APPOINTMENT_STATUS.get(str((detail or {}).get("status") or "").lower(), "planned")
    out: dict[str, Any] = {"status": status, "class": _klass("AMB"), "period": _period(item)}
    if detail is not None:
        out["serviceProvider"] = item.org_ref()
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
        out["serviceProvider"] = item.org_ref()
        kind = detail.get("session_type") or detail.get("service")
        if kind:
            out["type"] = [{"text": str(kind)}]
    return out
