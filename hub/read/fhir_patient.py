"""A child as a FHIR R4 (UK Core-shaped) Patient, validated with the fhir.resources R4B models."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle

from connectors.identifiers import NHS_NUMBER_SYSTEM

_GENDER = {"M": "male", "F": "female", "O": "other", "U": "unknown", "MALE": "male", "FEMALE": "female"}


def patient_resource(
    child_id: str, identifiers: list[tuple[str, str]], subject: dict[str, Any] | None
) -> dict[str, Any]:
    ordered = sorted(identifiers, key=lambda i: i[0] != NHS_NUMBER_SYSTEM)
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": child_id,
        "meta": {"source": "urn:onestory:hub"},
        "identifier": [{"system": s, "value": v} for s, v in ordered],
    }
    if subject:
        name = {k: v for k, v in (("family", subject.get("family_name")),) if v}
        if subject.get("given_name"):
            name["given"] = [subject["given_name"]]
        if name:
            resource["name"] = [name]
        if subject.get("birth_date"):
            resource["birthDate"] = subject["birth_date"].isoformat()
        if subject.get("sex"):
            resource["gender"] = _GENDER.get(str(subject["sex"]).upper(), "unknown")
        if subject.get("postcode"):
            resource["address"] = [{"postalCode": subject["postcode"]}]
    return resource


def searchset(base_url: str, resources: list[dict[str, Any]]) -> dict[str, Any]:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {"fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in resources
        ],
    }
    validated: dict[str, Any] = Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)
    return validated
