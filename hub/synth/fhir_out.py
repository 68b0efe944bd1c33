"""GP and CAMHS happenings → FHIR R4 resources, one request body per line, as an EPR's FHIR client would POST them.

The agency's Patient (its own id = its local record number; identifiers as it holds them, a mistyped NHS
number included) is sent first; every later resource points at it as `Patient/<id>`, which the connector
reads as the sender's local patient id, so identity links them through the Patient. Resources are only of
types connectors/fhir/map.py takes, with the elements it reads; each validates as R4 (fhir.resources R4B).
"""

from __future__ import annotations

from typing import Any

from connectors.fhir.map import THRIVE_SYSTEM
from connectors.identifiers import NHS_NUMBER_SYSTEM
from hub.synth.events import Happening
from hub.synth.items import Item, identifier, local_id, local_iso, minutes
from hub.synth.organisations import Organisations

ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
SNOMED = "http://snomed.info/sct"
REFERRAL_ID = "https://onestory.example/Id/referral"
HUB = "https://onestory.nhs.example/CodeSystem"
ORG_TYPE = f"{HUB}/organisation-type"
CATEGORY = f"{HUB}/category"
PURPOSE = f"{HUB}/purpose"
COMPETENCE = f"{HUB}/competence"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"
MEASURE = "https://onestory.example/CodeSystem/outcome-measure"
LETTER = "https://onestory.example/CodeSystem/letter"
PSY = [{"system": f"{TERMINOLOGY}/v3-ActCode", "code": "PSY"}]
CAMHS_SERVICE = {"system": SNOMED, "code": "310583000", "display": "Child and adolescent mental health service"}
RCADS = "https://onestory.example/Questionnaire/rcads-47"


def _org_ref(code: str) -> dict[str, Any]:
    return {"identifier": {"system": ODS, "value": code}}


def patient(h: Happening, org: str) -> dict[str, Any]:
    record = h.record
    assert record is not None
    nhs = identifier(record, NHS_NUMBER_SYSTEM)
    resource: dict[str, Any] = {"resourceType": "Patient", "id": local_id(record)}
    if nhs:
        resource["identifier"] = [{"system": NHS_NUMBER_SYSTEM, "value": nhs}]
    name: dict[str, Any] = {"use": "official"}
    if record.family_name:
        name["family"] = record.family_name
    if record.given_name:
        name["given"] = [record.given_name]
    resource["name"] = [name]
    if record.sex:
        resource["gender"] = "male" if record.sex == "M" else "female"
    if record.birth_date:
        resource["birthDate"] = record.birth_date.isoformat()
    if record.postcode:
        resource["address"] = [{"postalCode": record.postcode}]
    if h.agency == "gp":
        resource["generalPractitioner"] = [_org_ref(org)]
    return resource


def _referral(
    h: Happening, org: str, subject: dict[str, str], organisation: Organisations
) -> tuple[dict[str, Any], str]:
    data = h.data
    if h.agency == "gp":
        status, rid, requester = "active", f"gp-{data['referral_id']}", org
    else:
        status = "completed" if data["accepted"] else "revoked"
        rid, requester = f"camhs-{data['referral_id']}", None
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": rid.lower(),
        "identifier": [{"system": REFERRAL_ID, "value": data["referral_id"]}],
        "status": status,
        "intent": "order",
        "priority": data["urgency"],
        "code": {"coding": [CAMHS_SERVICE]},
        "reasonCode": [{"coding": [{"system": SNOMED, "code": data["reason_code"], "display": data["reason"]}]}],
        "subject": subject,
        "authoredOn": local_iso(h.day, h.minute),
        "performer": [_org_ref(organisation(data["to"]).code)],
    }
    if requester:
        resource["requester"] = _org_ref(requester)
    kind = {"active": "referral.made", "completed": "referral.accepted", "revoked": "referral.declined"}[status]
    return resource, kind


def _consent(h: Happening, org: str, subject: dict[str, str], organisation: Organisations) -> dict[str, Any]:
    data = h.data
    by_parent = data["given_by"] != "young-person"
    performer = {"reference": "#parent"} if by_parent else subject
    actors = [
        {
            "role": {"coding": [{"system": ORG_TYPE, "code": org_type}]},
            "reference": _org_ref(organisation(record_org).code),
        }
        for org_type, record_org in data["recipients"]
    ]
    provision: dict[str, Any] = {
        "type": "permit",
        "period": {"start": local_iso(data["start"])},
        "purpose": [{"system": PURPOSE, "code": "direct-care"}],
        "class": [{"system": CATEGORY, "code": c} for c in ("mental-health", "referral", "appointment", "thrive")],
    }
    if actors:
        provision["actor"] = actors
    return {
        "resourceType": "Consent",
        "id": data["id"].lower(),
        "status": "active" if data["status"] == "given" else "inactive",
        "scope": {"coding": [{"system": f"{TERMINOLOGY}/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": subject,
        "dateTime": local_iso(h.day, h.minute),
        "performer": [performer],
        "organization": [_org_ref(org)],
        "policyRule": {"coding": [{"system": f"{TERMINOLOGY}/v3-ActCode", "code": "OPTIN"}]},
        "provision": provision,
    } | (
        {
            "contained": [
                {
                    "resourceType": "RelatedPerson",
                    "id": "parent",
                    "patient": subject,
                    "relationship": [{"coding": [{"system": f"{TERMINOLOGY}/v3-RoleCode", "code": "PRN"}]}],
                }
            ]
        }
        if by_parent
        else {}
    )


def _competence(h: Happening, subject: dict[str, str]) -> dict[str, Any]:
    """A Gillick assessment as the CAMHS EPR records it (the hub's competence Observation, docs/events.md)."""
    part = [("decision", "information-sharing"), ("framework", "gillick")]
    return {
        "resourceType": "Observation",
        "id": h.data["id"].lower(),
        "status": "final",
        "code": {"coding": [{"system": COMPETENCE, "code": "assessment"}]},
        "subject": subject,
        "effectiveDateTime": local_iso(h.day, h.minute),
        "performer": [{"reference": "Practitioner/camhs-duty-clinician"}],
        "valueCodeableConcept": {"coding": [{"system": COMPETENCE, "code": h.data["outcome"]}]},
        "component": [{"code": {"coding": [{"system": COMPETENCE, "code": c}]}, "valueString": v} for c, v in part],
    }


def resource(h: Happening, org: str, organisation: Organisations) -> tuple[dict[str, Any], str]:
    """The resource for one happening and the canonical kind the connector makes of it."""
    assert h.record is not None
    subject = {"reference": f"Patient/{local_id(h.record)}"}
    data, when = h.data, local_iso(h.day, h.minute)
    what = h.what
    if what == "registered":
        return patient(h, org), "person.registered"
    if what in ("referral", "referral-decision"):
        return _referral(h, org, subject, organisation)
    if what == "consent":
        return _consent(h, org, subject, organisation), f"consent.{data['status']}"
    if what == "competence":
        return _competence(h, subject), "competence.assessed"
    if what == "episode":
        period = {"start": local_iso(data["start"])} | ({"end": local_iso(data["end"])} if "end" in data else {})
        episode = {
            "resourceType": "EpisodeOfCare",
            "id": data["id"].lower(),
            "identifier": [{"system": f"https://onestory.example/Id/{org}/episode", "value": data["id"]}],
            "status": data["status"],
            "type": [{"coding": [CAMHS_SERVICE]}],
            "patient": subject,
            "managingOrganization": _org_ref(org),
            "period": period,
        }
        return episode, "plan.started" if data["status"] == "active" else "plan.ended"
    if what == "careplan":
        period = {"start": local_iso(data["start"])} | ({"end": local_iso(data["end"])} if "end" in data else {})
        plan = {
            "resourceType": "CarePlan",
            "id": data["id"].lower(),
            "identifier": [{"system": f"https://onestory.example/Id/{org}/careplan", "value": data["id"]}],
            "status": data["status"],
            "intent": "plan",
            "category": [{"coding": [{"system": SNOMED, "code": "736373009", "display": "Mental health care plan"}]}],
            "subject": subject,
            "period": period,
            "created": when,
            "meta": {"security": PSY},
        }
        return plan, "plan.started" if data["status"] == "active" else "plan.ended"
    if what == "encounter":
        start = local_iso(data["starts"], data["minute"])
        encounter = {
            "resourceType": "Encounter",
            "id": f"enc-{data['id'].lower()}",
            "identifier": [{"system": f"https://onestory.example/Id/{org}/appointment", "value": data["id"]}],
            "status": "finished",
            "class": {"system": f"{TERMINOLOGY}/v3-ActCode", "code": "AMB"},
            "serviceType": {"coding": [CAMHS_SERVICE]},
            "subject": subject,
            "period": {"start": start, "end": local_iso(data["starts"], data["minute"] + 50)},
        }
        return encounter, "encounter.ended"
    if what == "assessment":
        if data["first"]:  # at the first appointment: the questionnaire itself; later: the scored measure
            qr = {
                "resourceType": "QuestionnaireResponse",
                "id": data["id"].lower(),
                "questionnaire": RCADS,
                "status": "completed",
                "subject": subject,
                "authored": when,
            }
            return qr, "assessment.completed"
        obs = {
            "resourceType": "Observation",
            "id": data["id"].lower(),
            "status": "final",
            "code": {"coding": [{"system": MEASURE, "code": "RCADS-47", "display": "RCADS total score"}]},
            "subject": subject,
            "effectiveDateTime": when,
            "valueInteger": data["score"],
            "meta": {"security": PSY},
        }
        return obs, "assessment.completed"
    if what == "thrive":
        obs = {
            "resourceType": "Observation",
            "id": data["id"].lower(),
            "status": "final",
            "code": {"text": "THRIVE grouping agreed with the young person"},
            "subject": subject,
            "effectiveDateTime": when,
            "valueCodeableConcept": {"coding": [{"system": THRIVE_SYSTEM, "code": data["grouping"]}]},
            "performer": [_org_ref(org), subject],
            "note": [{"text": data["view"]}, {"text": data["ending"]}],
        }
        return obs, "thrive.agreed"
    if what == "flag":
        flag = {
            "resourceType": "Flag",
            "id": data["id"].lower(),
            "status": "active",
            "category": [{"coding": [{"system": f"{TERMINOLOGY}/flag-category", "code": "safety"}]}],
            "code": {"text": "Risk support plan in place: see CAMHS"},
            "subject": subject,
            "period": {"start": when},
        }
        return flag, "concern.raised"
    if what == "communication":
        letter = {
            "resourceType": "Communication",
            "id": data["id"].lower(),
            "status": "completed",
            "category": [{"coding": [{"system": LETTER, "code": "discharge-letter"}]}],
            "medium": [{"coding": [{"system": f"{TERMINOLOGY}/v3-ParticipationMode", "code": "WRITTEN"}]}],
            "subject": subject,
            "sent": when,
            "meta": {"security": PSY},
        }
        return letter, "communication.sent"
    raise ValueError(f"no FHIR resource for {h.agency} {what}")


def render(h: Happening, child: int, seed: int, organisation: Organisations) -> list[Item]:
    assert h.record is not None
    org = organisation(h.record.organisation).code
    body, kind = resource(h, org, organisation)
    return [Item("fhir", f"fhir/{org}.ndjson", minutes(h.day, h.minute), body, (kind,), child, org)]
