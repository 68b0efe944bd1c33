"""Letters, outcome measures and appointments as FHIR R4: DocumentReference, Observation and Appointment.

Builders for hub.fhir.mapping's table (detail is None below full). A letter's text travels only at full, as a
text/plain attachment; below full the DocumentReference says a document exists and where it is held. An outcome
measure's trend (hub.read.measures, computed over what this viewer sees at full) becomes the Observation's
interpretation: v3-ObservationInterpretation B (better) or W (worse) than the previous score.
"""

from __future__ import annotations

import base64
from typing import Any

from hub.fhir import observations
from hub.fhir.meta import Served, category_concept, patient_ref

_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
MEASURE_SYSTEM = "https://onestory.example.org/fhir/CodeSystem/outcome-measure"
DOCUMENT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0270"
_DOC_STATUS = {"final": "final", "preliminary": "preliminary", "amended": "amended"}
_APPOINTMENT_STATUS = {
    "booked": "booked",
    "rescheduled": "booked",
    "modified": "booked",
    "cancelled": "cancelled",
    "missed": "noshow",
    "attended": "fulfilled",
}
_KIND_STATUS = {
    "appointment.cancelled": "cancelled",
    "appointment.missed": "noshow",
    "appointment.attended": "fulfilled",
}


def document_reference(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    row = item.row
    retracted = row.get("status") == "entered-in-error" or (detail or {}).get("status") == "entered-in-error"
    out: dict[str, Any] = {
        "status": "entered-in-error" if retracted else "current",
        "date": row["occurred_at"].isoformat(),
        "content": [{"attachment": {"title": f"Held by {item.org_name}"}}],
    }
    if detail is None:
        return out
    title = str(detail.get("title") or "Letter")
    if detail.get("document_type"):
        out["type"] = {
            "coding": [{"system": DOCUMENT_TYPE_SYSTEM, "code": str(detail["document_type"])}],
            "text": title,
        }
    else:
        out["type"] = {"text": title}
    out["category"] = [category_concept(row["category"])]
    if detail.get("document_id"):
        out["masterIdentifier"] = {
            "system": f"urn:onestory:document:{row['source_org']}",
            "value": detail["document_id"],
        }
    status = _DOC_STATUS.get(str(detail.get("status") or ""))
    if status:
        out["docStatus"] = status
    out["author"] = [{"display": str(detail["author"])}] if detail.get("author") else [item.org_ref()]
    out["custodian"] = item.org_ref()
    out["description"] = title
    content = []
    if detail.get("text"):
        data = base64.b64encode(str(detail["text"]).encode("utf-8")).decode("ascii")
        content.append({"attachment": {"contentType": "text/plain; charset=utf-8", "data": data, "title": title}})
    for held in detail.get("attachments") or []:
        content.append({"attachment": {"title": str(held)}})
    out["content"] = content or out["content"]
    if detail.get("service"):
        out["context"] = {"practiceSetting": {"text": str(detail["service"])}}
    return out


def assessment(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    """An outcome measure as a scored survey Observation; any other assessment as before (observations.py)."""
    out = observations.assessment(item, detail)
    if detail is None or not detail.get("measure"):
        return out
    out["code"] = {
        "coding": [{"system": MEASURE_SYSTEM, "code": str(detail["measure"])}],
        "text": str(detail.get("tool") or detail["measure"]),
    }
    out["category"] = [{"coding": [{"system": _OBS_CATEGORY, "code": "survey"}]}]
    if isinstance(detail.get("score_value"), int | float):
        out.pop("valueString", None)
        out["valueQuantity"] = {"value": detail["score_value"]}
    parts = [
        {"code": {"text": str(name)}, "valueString": str(value)}
        for name, value in sorted((detail.get("scores") or {}).items())
    ]
    if parts:
        out["component"] = parts
    if detail.get("respondent"):
        out["note"] = [{"text": f"Completed by: {detail['respondent']}"}]
    trend = detail.get("trend")
    if trend:
        words = f"{trend['direction']} than {trend['previousScore']} on {str(trend['previousAt'])[:10]}"
        if trend["direction"] in ("better", "worse"):
            code = "B" if trend["direction"] == "better" else "W"
            display = "Better" if code == "B" else "Worse"
            out["interpretation"] = [
                {"coding": [{"system": _INTERPRETATION, "code": code, "display": display}], "text": words}
            ]
        else:
            out["interpretation"] = [{"text": words}]
    return out


def appointment(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    """Appointment. Below full only what R4 requires: the status, the child as participant and, because a booked
    appointment must have one (app-3), its start and end."""
    row = item.row
    stored = row.get("detail") or {}
    status = _APPOINTMENT_STATUS.get(str(stored.get("status") or ""), _KIND_STATUS.get(row["kind"], "booked"))
    if row.get("status") == "entered-in-error":
        status = "entered-in-error"
    out: dict[str, Any] = {
        "status": status,
        "participant": [{"actor": patient_ref(row["child_id"]), "status": "accepted"}],
    }
    for field, key in (("starts_at", "start"), ("ends_at", "end")):
        if stored.get(field):
            out[key] = str(stored[field])
    if detail is None:
        return out
    if detail.get("appointment_id"):
        out["identifier"] = [
            {"system": f"urn:onestory:appointment:{row['source_org']}", "value": str(detail["appointment_id"])}
        ]
    if detail.get("service"):
        out["serviceType"] = [{"text": str(detail["service"])}]
    if detail.get("reason"):
        out["reasonCode"] = [{"text": str(detail["reason"])}]
    if detail.get("clinician"):
        out["participant"].append({"actor": {"display": str(detail["clinician"])}, "status": "accepted"})
    if detail.get("location"):
        out["participant"].append({"actor": {"display": str(detail["location"])}, "status": "accepted"})
    out["description"] = row["summary"]
    return out
