"""Audit records as FHIR R4 AuditEvents shaped after IHE BALP (Basic Audit Log Patterns).

Reads are BALP "Read"/"Query" (rest interaction), break-glass and denials keep that shape with their outcome
and purpose, governance acts (consent change, identity link/unlink, policy change, purge, IG access) are
application activity. The patient is an entity with role 1 (patient); each disclosed entry is an entity whose
detail says the level it was shown at. No clinical content is ever included.
"""

from __future__ import annotations

from typing import Any

from hub.audit.log import BREAK_GLASS, DENY, QUERY, READ

AUDIT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
REST = "http://hl7.org/fhir/restful-interaction"
PURPOSE = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
USER_SYSTEM = "urn:onestory:user"
ONESTORY = "urn:onestory:audit"

_PURPOSES = {
    "direct-care": ("TREAT", "treatment"),
    "audit": ("HOPERAT", "healthcare operations"),
    "safeguarding": ("PUBHLTH", "public health"),
}
_OUTCOMES = {"success": "0", "not-found": "4", "denied": "4", "error": "8"}


def _action_code(action: str) -> str:
    if action in (READ, BREAK_GLASS):
        return "R"
    if action == QUERY:
        return "E"
    if action in ("consent-change", "identity-link", "identity-unlink", "policy-change", "ig-review"):
        return "U"
    if action == "purge":
        return "D"
    return "E"


def audit_event(item: dict[str, Any], observer: str = "OneStory hub") -> dict[str, Any]:
    """One IG item (see search.as_item) as an AuditEvent dict (validate with fhir.resources R4B)."""
    action = item["action"]
    if action in (READ, QUERY, BREAK_GLASS, DENY):
        event_type = {"system": AUDIT_TYPE, "code": "rest", "display": "Restful Operation"}
        subtype = [{"system": REST, "code": "search-type" if action == QUERY else "read"}]
    else:
        event_type = {"system": DICOM, "code": "110100", "display": "Application Activity"}
        subtype = [{"system": ONESTORY, "code": action}]
    purpose_code = _PURPOSES.get(item["purpose"])
    purpose: dict[str, Any] = {"text": item["purpose"]}
    if purpose_code:
        purpose["coding"] = [{"system": PURPOSE, "code": purpose_code[0], "display": purpose_code[1]}]
    purposes = [purpose]
    if action == BREAK_GLASS:
        purposes.append(
            {
                "coding": [{"system": PURPOSE, "code": "ETREAT", "display": "Emergency Treatment"}],
                "text": "break the glass",
            }
        )
    user_agent: dict[str, Any] = {
        "type": {"coding": [{"system": DICOM, "code": "110153", "display": "Source Role ID"}]},
        "who": {"identifier": {"system": USER_SYSTEM, "value": item["user"]}},
        "requestor": True,
        "role": [{"text": item["role"]}],
        "purposeOfUse": purposes,
    }
    if item.get("clientAddress"):
        user_agent["network"] = {"address": item["clientAddress"], "type": "2"}
    if item.get("policyVersion"):
        user_agent["policy"] = [f"urn:onestory:policy:{item['policyVersion']}"]
    org_agent = {"who": {"identifier": {"system": ODS, "value": item["organisation"]}}, "requestor": False}
    entities: list[dict[str, Any]] = []
    if item.get("childId"):
        entities.append(
            {
                "what": {"reference": f"Patient/{item['childId']}"},
                "type": {"system": ENTITY_TYPE, "code": "1", "display": "Person"},
                "role": {"system": OBJECT_ROLE, "code": "1", "display": "Patient"},
            }
        )
    if item.get("query"):
        entities.append(
            {
                "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
                "role": {"system": OBJECT_ROLE, "code": "24", "display": "Query"},
                "description": item["query"],
            }
        )
    for entry in item.get("entries") or []:
        entities.append(
            {
                "what": {"identifier": {"system": "urn:onestory:entry", "value": entry["id"]}},
                "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
                "detail": [{"type": "disclosure-level", "valueString": entry.get("level", "")}],
            }
        )
    outcome_desc = item["outcome"] if not item.get("reason") else f"{item['outcome']}; reason: {item['reason']}"
    if item.get("legitimateRelationship") is False:
        outcome_desc += "; no legitimate relationship"
    return {
        "resourceType": "AuditEvent",
        "id": f"onestory-audit-{item['seq']}",
        "type": event_type,
        "subtype": subtype,
        "action": _action_code(action),
        "recorded": item["recordedAt"],
        "outcome": _OUTCOMES.get(item["outcome"], "4"),
        "outcomeDesc": outcome_desc,
        "purposeOfEvent": purposes,
        "agent": [user_agent, org_agent],
        "source": {
            "observer": {"display": observer},
            "type": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                    "code": "4",
                    "display": "Application Server",
                }
            ],
        },
        "entity": entities,
    }
