"""FHIR R4 resources → canonical events. Pure: organisation and received-at time are arguments.

A request is all or nothing (a transaction is atomic, and a collection or message describes one situation):
any error means no events, and every error is listed with its element path. Resources that are not about a
patient (a Flag on a Location) and supporting resources (Organization, Practitioner...) are noted, not mapped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from connectors.batch import Batch, Issue
from connectors.canonical import EventSpec, Source, basis, build_event
from connectors.errors import ConnectorError, MappingError
from connectors.fhir import clinical
from connectors.fhir import consent as c
from connectors.fhir import fields as f
from connectors.fhir.parse import entries
from connectors.value_sets import classify

Mapped = tuple[str, str, str, dict[str, Any], str, datetime | None, dict[str, str]]
# (kind, category, payload type, payload, summary, occurred, correlation ids)

CODED = ("code", "reasonCode", "serviceType", "type", "category", "valueCodeableConcept", "bodySite")
"""The elements whose codes the value sets read (Consent's category is a document kind, never read)."""


def _patient(r: dict[str, Any]) -> Mapped:
    gp = f.ref_identifier(r.get("generalPractitioner"))
    return ("person.registered", "demographics", "Person", {"registered_gp": gp}, "Person registered (FHIR)", None, {})


def _encounter(r: dict[str, Any]) -> Mapped:
    status = r.get("status")
    period = r.get("period") or {}
    ident = f.first(r.get("identifier")) or {}
    enc_id = ident.get("value") or (str(r["id"]) if r.get("id") is not None else None)
    cls = r.get("class") or {}
    if status in ("planned", "cancelled"):
        appt = {
            "appointment_id": enc_id,
            "status": "booked" if status == "planned" else "cancelled",
            "service": f.display(r.get("serviceType")),
            "location": None,
            "clinician": None,
            "starts_at": f.fhir_datetime(period.get("start")),
            "ends_at": f.fhir_datetime(period.get("end")),
            "reason": f.code(r.get("reasonCode")),
        }
        kind = "appointment.booked" if status == "planned" else "appointment.cancelled"
        return (
            kind,
            "appointment",
            "Appointment",
            appt,
            f"Appointment {appt['status']}",
            None,
            {"encounter": enc_id or ""},
        )
    ended = status == "finished"
    payload: dict[str, Any] = {
        "encounter_id": enc_id,
        "encounter_class": cls.get("code"),
        "location": f.ref_identifier(f.first(r.get("location") or [{}]).get("location")),
        "clinician": None,
        "started_at": f.fhir_datetime(period.get("start")),
        "ended_at": f.fhir_datetime(period.get("end")),
    }
    kind = "encounter.ended" if ended else "encounter.started"
    occurred: datetime | None = payload["ended_at"] if ended else payload["started_at"]
    return (
        kind,
        "encounter",
        "Encounter",
        payload,
        f"Encounter {'ended' if ended else 'started'} ({cls.get('code', '?')})",
        occurred,
        {"encounter": enc_id or ""},
    )


def _plan(r: dict[str, Any], plan_type: str, active: tuple[str, ...]) -> Mapped:
    status = "started" if r.get("status") in active else "ended"
    period = r.get("period") or {}
    ident = f.first(r.get("identifier")) or {}
    plan_id = ident.get("value") or str(r.get("id") or "unidentified")
    payload: dict[str, Any] = {
        "plan_id": plan_id,
        "plan_type": plan_type,
        "status": status,
        "category_code": f.code(r.get("category") or r.get("type")),
        "legal_status": None,
        "placement": None,
        "start_date": f.fhir_date(period.get("start")),
        "review_date": None,
        "end_date": f.fhir_date(period.get("end")) if status == "ended" else None,
        "end_reason": None,
    }
    occurred = f.fhir_datetime(period.get("end") if status == "ended" else period.get("start")) or f.fhir_datetime(
        r.get("created")
    )
    words = plan_type.replace("-", " ")
    return (
        f"plan.{status}",
        "mental-health",
        "Plan",
        payload,
        f"{words.capitalize()} {status}",
        occurred,
        {"plan": plan_id},
    )


def _service_request(r: dict[str, Any]) -> Mapped:
    status = {"revoked": "declined", "completed": "accepted"}.get(str(r.get("status")), "made")
    ident = f.first(r.get("identifier")) or {}
    ref_id = ident.get("value") or str(r.get("id") or "unidentified")
    payload: dict[str, Any] = {
        "referral_id": ref_id,
        "status": status,
        "from_organisation": f.ref_identifier(r.get("requester")),
        "to_organisation": f.ref_identifier(r.get("performer")),
        "to_service": f.display(r.get("code")),
        "reason": f.code(r.get("reasonCode")),
        "urgency": r.get("priority"),
        "redirected_to": None,
        "decline_reason": None,
    }
    return (
        f"referral.{status}",
        "referral",
        "Referral",
        payload,
        f"Referral {status}",
        f.fhir_datetime(r.get("authoredOn")),
        {"referral": ref_id},
    )


THRIVE_SYSTEM = "https://onestory.example/CodeSystem/thrive-grouping"
THRIVE_GROUPINGS = {
    "thriving": "Thriving",
    "getting-advice": "Getting Advice and Signposting",
    "getting-help": "Getting Help",
    "getting-more-help": "Getting More Help",
    "getting-risk-support": "Getting Risk Support",
}


def _is_thrive(r: dict[str, Any]) -> bool:
    concept = r.get("valueCodeableConcept") or {}
    return any(c.get("system") == THRIVE_SYSTEM for c in concept.get("coding") or [])


def _thrive(r: dict[str, Any]) -> Mapped:
    """An Observation whose value is a THRIVE grouping (THRIVE_SYSTEM): who agreed it and the young person's view."""
    grouping = next(c.get("code") for c in r["valueCodeableConcept"]["coding"] if c.get("system") == THRIVE_SYSTEM)
    if grouping not in THRIVE_GROUPINGS:
        raise MappingError(
            f"THRIVE grouping must be one of {', '.join(THRIVE_GROUPINGS)}", "Observation.valueCodeableConcept"
        )
    agreed_by = [x for p in r.get("performer") or [] if (x := f.ref_identifier(p) or p.get("reference"))]
    notes = [n.get("text") for n in r.get("note") or [] if n.get("text")]
    payload: dict[str, Any] = {
        "grouping": grouping,
        "agreed_by": agreed_by,
        "young_person_view": notes[0] if notes else None,
        "agreed_ending": notes[1] if len(notes) > 1 else None,
    }
    return (
        "thrive.agreed",
        "thrive",
        "Thrive",
        payload,
        f"THRIVE grouping agreed: {THRIVE_GROUPINGS[grouping]}",
        f.fhir_datetime(r.get("effectiveDateTime")),
        {},
    )


def _assessment(r: dict[str, Any], kind_of: str) -> Mapped:
    value = r.get("valueQuantity") or {}
    score = None
    if value.get("value") is not None:
        score = f"{value['value']} {value.get('unit') or value.get('code') or ''}".strip()
    elif r.get("valueInteger") is not None:
        score = str(r["valueInteger"])
    elif r.get("valueCodeableConcept"):
        score = f.code(r["valueCodeableConcept"])
    when = (
        r.get("effectiveDateTime")
        or r.get("recordedDate")
        or r.get("onsetDateTime")
        or r.get("authored")
        or (r.get("effectivePeriod") or {}).get("start")
        or r.get("issued")
    )
    payload: dict[str, Any] = {
        "assessment_id": str(r["id"]) if r.get("id") is not None else None,
        "assessment_type": kind_of,
        "tool": r.get("questionnaire") or f.display(r.get("code")),
        "code": f.code(r.get("code")),
        "outcome": f.code(r.get("clinicalStatus")) or r.get("status"),
        "score": score,
        "completed_at": f.fhir_datetime(when),
    }
    return (
        "assessment.completed",
        "assessment",
        "Assessment",
        payload,
        f"Assessment recorded ({kind_of})",
        payload["completed_at"],
        {},
    )


def _flag(r: dict[str, Any]) -> Mapped:
    flag_id = str(r.get("id") or (f.first(r.get("identifier")) or {}).get("value") or "unidentified")
    payload: dict[str, Any] = {
        "concern_id": flag_id,
        "concern_type": "alert",
        "concern_category": f.code(r.get("category")) or f.code(r.get("code")),
        "severity": None,
        "raised_by_role": None,
        "action_taken": None,
    }
    return (
        "concern.raised",
        "safeguarding-concern",
        "Concern",
        payload,
        "Alert flag raised",
        f.fhir_datetime((r.get("period") or {}).get("start")),
        {},
    )


def _communication(r: dict[str, Any]) -> Mapped:
    payload: dict[str, Any] = {
        "communication_id": str(r["id"]) if r.get("id") is not None else None,
        "medium": f.code(r.get("medium")),
        "topic": f.code(r.get("category")) or f.display(r.get("topic")),
        "sent_at": f.fhir_datetime(r.get("sent")),
    }
    return (
        "communication.sent",
        "mental-health",
        "Communication",
        payload,
        "Communication recorded",
        payload["sent_at"],
        {},
    )


def _consent(r: dict[str, Any], organisation: str, refs: f.References) -> list[Mapped]:
    st = r.get("status")
    if st in ("draft", "proposed", "entered-in-error"):
        raise _Skip(f"a Consent with status {st} is not in force")
    payload = c.consent_payload(r, organisation, refs.resolve)
    status, consent_id = payload["status"], payload["consent_id"]
    who = "the young person" if payload["given_by"] == "young-person" else "a person with parental responsibility"
    occurred = f.fhir_datetime(r.get("dateTime"))
    out: list[Mapped] = []
    replaced = c.replaced_consent(r)
    if replaced and replaced != consent_id:
        ended = c.withdrawal_of(payload, replaced)
        out.append(
            (
                "consent.withdrawn",
                "consent",
                "Consent",
                ended,
                f"Consent {replaced} replaced by {consent_id} (recorded at source)",
                occurred,
                {"consent": replaced},
            )
        )
    out.append(
        (
            f"consent.{status}",
            "consent",
            "Consent",
            payload,
            f"Consent {status} by {who} (recorded at source)",
            occurred,
            {"consent": consent_id},
        )
    )
    return out


def _competence(r: dict[str, Any], refs: f.References) -> Mapped:
    payload, when = c.competence_payload(r, refs.resolve)
    words = "competent" if payload["outcome"] == "competent" else "not competent"
    decision = payload["decision"].replace("-", " ")
    return (
        "competence.assessed",
        "consent",
        "Competence",
        payload,
        f"Assessed as {words} to decide about {decision} ({payload['framework'].capitalize()})",
        when,
        {"competence": payload["assessment_id"]},
    )


def _observation(r: dict[str, Any], refs: f.References) -> Mapped:
    if c.is_competence(r):
        return _competence(r, refs)
    measure = clinical.measure_of(r)
    if measure is not None:
        return clinical.scored(r, measure, "observation")
    return _thrive(r) if _is_thrive(r) else _assessment(r, "observation")


def _questionnaire(r: dict[str, Any]) -> Mapped:
    measure = clinical.measure_of(r)
    return clinical.scored(r, measure, "questionnaire") if measure else _assessment(r, "questionnaire")


class _Skip(Exception):
    """Not an error: this resource is noted and left out (e.g. a draft Consent)."""


_MAPPERS: dict[str, Callable[[dict[str, Any], str, f.References], list[Mapped]]] = {
    "Patient": lambda r, o, refs: [_patient(r)],
    "Encounter": lambda r, o, refs: [_encounter(r)],
    "EpisodeOfCare": lambda r, o, refs: [_plan(r, "episode-of-care", ("planned", "waitlist", "active", "onhold"))],
    "CarePlan": lambda r, o, refs: [_plan(r, "care-plan", ("draft", "active", "on-hold"))],
    "ServiceRequest": lambda r, o, refs: [_service_request(r)],
    "Condition": lambda r, o, refs: [_assessment(r, "diagnosis")],
    "Observation": lambda r, o, refs: [_observation(r, refs)],
    "QuestionnaireResponse": lambda r, o, refs: [_questionnaire(r)],
    "DocumentReference": lambda r, o, refs: [clinical.document(r)],
    "Flag": lambda r, o, refs: [_flag(r)],
    "Communication": lambda r, o, refs: [_communication(r)],
    "Consent": _consent,
}
TAKEN = tuple(_MAPPERS)


def map_request(body: bytes, organisation: str, received_at: datetime, system: str = "fhir") -> Batch:
    """All resources of the request, mapped; raises ParseError for invalid R4 (the caller answers 400)."""
    rtype, found = entries(body)
    if rtype != "Bundle" and rtype not in _MAPPERS and rtype not in clinical.OUT_OF_SCOPE_TYPES:
        raise MappingError(
            f"resourceType {rtype} is not taken (send one of {', '.join(TAKEN)}, or a Bundle)", f"{rtype}.resourceType"
        )
    refs = f.References([(e.resource, e.full_url) for e in found])
    source = Source("fhir", system, organisation, None)
    direct_care = basis("lawful_basis", "direct-care")
    batch = Batch()
    results = clinical.report_results((e.resource, e.full_url) for e in found)
    for index, entry in enumerate(found):
        r = entry.resource
        mapper = _MAPPERS.get(r["resourceType"])
        general = clinical.general_result(r, entry.path, entry.full_url, results)
        if general is not None:
            batch.issues.append(Issue(general.location or entry.path, general.reason, "error", general.phase))
            continue
        if mapper is None:
            batch.issues.append(Issue(entry.path, f"{r['resourceType']} is not taken; noted only", "information"))
            continue
        try:
            subject = f.subject_of(r, entry.path, refs, organisation, entry.full_url)
            if subject is None:
                batch.issues.append(
                    Issue(entry.path, f"{r['resourceType']} is not about a patient; noted only", "information")
                )
                continue
            mapped = mapper(r, organisation, refs)
            sharing = None if r["resourceType"] == "Consent" else c.stated_basis(r, entry.path, direct_care)
        except _Skip as skip:
            batch.issues.append(Issue(entry.path, str(skip), "information"))
            continue
        except ConnectorError as exc:
            batch.issues.append(Issue(exc.location or entry.path, exc.reason, "error", exc.phase))
            continue
        coded = [] if r["resourceType"] in ("Consent", "Patient") else [x for k in CODED for x in c.codings(r.get(k))]
        classified = classify(coded, f.security_labels(r))
        for part, (kind, category, ptype, payload, summary, occurred, corr) in enumerate(mapped):
            measure = payload.get("measure") if ptype == "Assessment" else None
            kept = ("consent", "thrive", "assessment") if measure else ("consent", "thrive")
            sealed = measure and classified.category not in (None, "mental-health")  # a measure stays an assessment
            if classified.category and (category not in kept or sealed):
                category = classified.category
            labels = sorted({*classified.labels, *clinical.measure_labels(measure)})
            spec = EventSpec(
                kind=kind,
                category=category,
                record_id=f.record_id(r, entry.full_url, entry.path) + (f"#{part}" if part else ""),
                subject=subject,
                occurred_at=occurred or received_at,
                recorded_at=received_at,
                summary=summary,
                payload_type=ptype,
                payload=payload,
                sharing_basis=sharing or basis("consent", payload["consent_id"]),
                correlation_ids=corr,
                sensitivity_labels=labels,
            )
            batch.events.append(build_event(source, spec, json.dumps(r, sort_keys=True), index))
    if batch.errors:
        batch.events.clear()
    elif not batch.events:
        batch.issues.append(Issue(rtype, "nothing in the request is about a patient in a form this hub takes"))
    return batch
