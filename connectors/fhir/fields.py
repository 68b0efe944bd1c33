"""Small readers over FHIR JSON (dicts): dates, codes, identifiers, subjects. Pure, shared by the resource mappers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from connectors.canonical import local_id_system, make_subject, nhs_identifier
from connectors.errors import MappingError
from connectors.identifiers import NHS_NUMBER_SYSTEM
from hub.events.model import Identifier, Subject

LONDON = ZoneInfo("Europe/London")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


def fhir_datetime(value: Any) -> datetime | None:
    """FHIR date/dateTime/instant (partial dates allowed); no offset means English local time."""
    if not isinstance(value, str) or not value:
        return None
    m = _DATE.match(value)
    if m:
        return datetime(int(m[1]), int(m[2] or 1), int(m[3] or 1), tzinfo=LONDON).astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=LONDON)).astimezone(UTC)


def fhir_date(value: Any) -> date | None:
    dt = fhir_datetime(value)
    return dt.astimezone(LONDON).date() if dt else None


def first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def code(concept: Any) -> str | None:
    """First coding's code of a CodeableConcept (or list of them); codes, never free text."""
    concept = first(concept)
    if not isinstance(concept, dict):
        return None
    coding = first(concept.get("coding"))
    return coding.get("code") if isinstance(coding, dict) else None


def display(concept: Any) -> str | None:
    concept = first(concept)
    if not isinstance(concept, dict):
        return None
    coding = first(concept.get("coding"))
    # The sender's own words (CodeableConcept.text, e.g. "Referral to CAMHS for low mood") before a bare code.
    return (coding.get("display") if isinstance(coding, dict) else None) or concept.get("text") or code(concept)


def codes(concepts: Any) -> list[str]:
    out: list[str] = []
    for c in concepts if isinstance(concepts, list) else [concepts]:
        if isinstance(c, dict):
            out += [str(x["code"]) for x in c.get("coding") or [c] if isinstance(x, dict) and x.get("code")]
    return out


def ref_identifier(ref: Any) -> str | None:
    """A Reference's logical identifier value, else its display (organisations, services)."""
    ref = first(ref)
    if not isinstance(ref, dict):
        return None
    ident = ref.get("identifier")
    if isinstance(ident, dict) and ident.get("value"):
        return str(ident["value"])
    return ref.get("display")


def record_id(resource: dict[str, Any], full_url: str | None, path: str) -> str:
    rtype = resource["resourceType"]
    ident = first(resource.get("identifier"))
    if resource.get("id") is not None:
        return f"{rtype}/{resource['id']}"
    if isinstance(ident, dict) and ident.get("value"):
        return f"{rtype}/{ident.get('system', '')}|{ident['value']}"
    if full_url:
        return f"{rtype}/{full_url}"
    return f"{rtype}@{path}"


def identifiers(raw: Any, organisation: str) -> list[Identifier]:
    found: list[Identifier] = []
    for ident in raw if isinstance(raw, list) else [raw]:
        if not isinstance(ident, dict) or not ident.get("value"):
            continue
        system = str(ident.get("system") or "")
        if system.lower() == NHS_NUMBER_SYSTEM.lower():
            found.append(nhs_identifier(str(ident["value"])))
        else:
            found.append(
                {
                    "system": system or local_id_system(organisation, "fhir"),
                    "value": str(ident["value"]),
                    "validated": True,
                }
            )
    return found


_PATIENT_REF = re.compile(r"^(?:(?P<base>https?://\S+?)/)?Patient/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/\S+)?$")


def patient_id_identifier(reference: str, organisation: str) -> Identifier | None:
    """A sender's logical patient id is its local record number: scoped by the server base, or by the sender."""
    m = _PATIENT_REF.match(reference)
    if not m:
        return None
    system = f"{m['base']}/Patient" if m["base"] else local_id_system(organisation, "Patient")
    return {"system": system, "value": m["id"], "validated": True}


def patient_subject(patient: dict[str, Any], organisation: str, location: str, full_url: str | None = None) -> Subject:
    name = first(patient.get("name")) or {}
    address = first(patient.get("address")) or {}
    found = identifiers(patient.get("identifier"), organisation)
    own = patient_id_identifier(full_url, organisation) if full_url else None
    if own is None and patient.get("id") is not None:
        own = patient_id_identifier(f"Patient/{patient['id']}", organisation)
    if own is not None:
        found.append(own)
    return make_subject(
        found,
        family_name=name.get("family"),
        given_name=first(name.get("given")),
        birth_date=fhir_date(patient.get("birthDate")),
        sex=patient.get("gender"),
        postcode=address.get("postalCode"),
        location=f"{location}.identifier",
    )


class References:
    """Resolves references inside one request: by fullUrl, by Type/id, by bare uuid, and contained '#id'."""

    def __init__(self, entries: list[tuple[dict[str, Any], str | None]]) -> None:
        self._by_key: dict[str, tuple[dict[str, Any], str | None]] = {}
        for resource, full_url in entries:
            keys = [full_url] if full_url else []
            if resource.get("id") is not None:
                keys += [f"{resource['resourceType']}/{resource['id']}"]
            for key in keys:
                self._by_key[str(key)] = (resource, full_url)
                if str(key).startswith("urn:uuid:"):
                    self._by_key[str(key)[9:]] = (resource, full_url)

    def resolve(self, reference: str, container: dict[str, Any]) -> tuple[dict[str, Any], str | None] | None:
        if reference.startswith("#"):
            inner = next((c for c in container.get("contained") or [] if f"#{c.get('id')}" == reference), None)
            return (inner, None) if inner else None
        return self._by_key.get(reference) or self._by_key.get(reference.split("/_history", 1)[0])


def subject_of(
    resource: dict[str, Any], path: str, refs: References, organisation: str, full_url: str | None = None
) -> Subject | None:
    """The child the resource is about; None when it is about something else (a Location, a Group)."""
    if resource["resourceType"] == "Patient":
        return patient_subject(resource, organisation, path, full_url)
    field = next((f for f in ("subject", "patient", "beneficiary") if resource.get(f)), None)
    if field is None:
        raise MappingError("no subject: the resource does not say which patient it is about", f"{path}.subject")
    ref = first(resource[field])
    where = f"{path}.{field}"
    if isinstance(ref.get("identifier"), dict):
        return make_subject(identifiers(ref["identifier"], organisation), location=f"{where}.identifier")
    reference = str(ref.get("reference") or "")
    target = refs.resolve(reference, resource) if reference else None
    if target is not None:
        if target[0].get("resourceType") != "Patient":
            return None
        return patient_subject(target[0], organisation, where, target[1])
    own = patient_id_identifier(reference, organisation)
    if own is not None:
        return make_subject([own], location=f"{where}.reference")
    if re.match(r"^(?:https?://\S+/)?[A-Z][A-Za-z]+/[^/]+$", reference):
        return None  # an explicit reference to another type, e.g. Group/1 or Location/2
    raise MappingError(
        "the patient reference does not resolve: include the Patient in the Bundle, use Patient/<id>, "
        "or give a logical reference with an identifier",
        f"{where}.reference",
    )


def security_labels(resource: dict[str, Any]) -> list[str]:
    meta = resource.get("meta") or {}
    return sorted({str(s["code"]) for s in meta.get("security") or [] if s.get("code") and s["code"] != "N"})
