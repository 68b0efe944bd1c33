"""FHIR Consent, competence Observations and stated lawful bases → OneStory terms. Pure; consent.yaml is data.

The mapping is written out in docs/events.md ("FHIR: consent, competence and lawful basis"). Anything the hub
cannot place (an unknown purpose, a RelatedPerson whose relationship is not parental responsibility, a
safeguarding basis without who decided and why) is a MappingError naming its FHIR path: a consent silently
widened or narrowed would be worse than one refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import yaml

from connectors import canonical
from connectors.canonical import CATEGORIES, basis, policy_terms
from connectors.errors import MappingError
from connectors.fhir import fields as f
from connectors.value_sets import classify
from hub.events.model import SharingBasis

ANY = "*"
Resolve = Any  # fields.References.resolve, bound to the request


@dataclass(frozen=True)
class ConsentTerms:
    hub: dict[str, str]
    recipient_roles: dict[str, frozenset[str]]
    organisation_identifiers: dict[str, str | None]
    purposes: dict[str, dict[str, str]]
    resource_classes: dict[str, dict[str, list[str]]]
    not_scope: dict[str, frozenset[str]]
    parental_responsibility: dict[str, frozenset[str]]


@cache
def terms() -> ConsentTerms:
    data = yaml.safe_load(resources.files("connectors.fhir").joinpath("consent.yaml").read_text(encoding="utf-8"))

    def sets(d: dict[str, list[str]]) -> dict[str, frozenset[str]]:
        return {str(k): frozenset(str(c) for c in v) for k, v in d.items()}

    return ConsentTerms(
        hub={str(k): str(v) for k, v in data["hub_systems"].items()},
        recipient_roles=sets(data["recipient_roles"]),
        organisation_identifiers=dict(data["organisation_identifiers"]),
        purposes={str(k): {str(c): str(p) for c, p in v.items()} for k, v in data["purposes"].items()},
        resource_classes={str(k): {str(c): list(p) for c, p in v.items()} for k, v in data["resource_classes"].items()},
        not_scope=sets(data["not_scope"]),
        parental_responsibility=sets(data["parental_responsibility"]),
    )


def codings(concepts: Any) -> list[tuple[str, str]]:
    """(system, code) of every coding in a CodeableConcept, a list of them, a Coding or a list of Codings."""
    out: list[tuple[str, str]] = []
    for c in concepts if isinstance(concepts, list) else [concepts]:
        if isinstance(c, dict):
            for x in c.get("coding") or [c]:
                if isinstance(x, dict) and x.get("code"):
                    out.append((str(x.get("system") or ""), str(x["code"])))
    return out


def _extension(resource: dict[str, Any], url: str) -> dict[str, Any] | None:
    return next((e for e in resource.get("extension") or [] if isinstance(e, dict) and e.get("url") == url), None)


def _ext_text(ext: dict[str, Any] | None) -> str | None:
    """A string-ish extension value: valueString/valueCode, a Coding's code, a Reference's identifier/ref/display."""
    if ext is None:
        return None
    for key in ("valueString", "valueCode", "valueId", "valueUri", "valueCanonical"):
        if ext.get(key):
            return str(ext[key])
    if isinstance(ext.get("valueCoding"), dict):
        return ext["valueCoding"].get("code")
    ref = ext.get("valueReference")
    if isinstance(ref, dict):
        return f.ref_identifier(ref) or ref.get("reference")
    ident = ext.get("valueIdentifier")
    return str(ident["value"]) if isinstance(ident, dict) and ident.get("value") else None


# ---- who gave it --------------------------------------------------------------------------------------------


def given_by(r: dict[str, Any], resolve: Resolve) -> str:
    """The young person (a Patient performer), a person with parental responsibility (a RelatedPerson whose
    relationship is MTH, FTH, PRN, GUARD... in v3-RoleCode), or, when a practitioner recorded it, whoever the
    consent-given-by extension names."""
    t = terms()
    stated = _ext_text(_extension(r, t.hub["given_by"]))
    if stated is not None:
        if stated not in ("young-person", "parental-responsibility"):
            raise MappingError(
                "consent-given-by must be young-person or parental-responsibility",
                f"Consent.extension('{t.hub['given_by']}')",
            )
        return stated
    performers = r.get("performer") or []
    for i, p in enumerate(performers):
        reference = str(p.get("reference") or "")
        target = resolve(reference, r) if reference else None
        rtype = target[0].get("resourceType") if target else reference.split("/")[-2] if "/" in reference else ""
        if rtype == "Patient":
            return "young-person"
        if rtype == "RelatedPerson":
            if target is None:
                raise MappingError(
                    "include the RelatedPerson (contained or in the Bundle) with its relationship, so the hub can "
                    "tell whether they hold parental responsibility",
                    f"Consent.performer[{i}].reference",
                )
            pr = t.parental_responsibility
            if any(code in pr.get(system, ()) for system, code in codings(target[0].get("relationship"))):
                return "parental-responsibility"
            raise MappingError(
                "this RelatedPerson's relationship does not carry parental responsibility (v3-RoleCode MTH, FTH, "
                "PRN, GUARD...): only the young person or a person with parental responsibility can decide",
                f"Consent.performer[{i}].reference",
            )
    raise MappingError(
        "who gave this consent? performer must be the Patient or a RelatedPerson with parental responsibility; "
        f"a practitioner recording it for them adds the extension {t.hub['given_by']}",
        "Consent.performer",
    )


# ---- scope --------------------------------------------------------------------------------------------------


def _recipients(provision: dict[str, Any], resolve: Resolve, r: dict[str, Any]) -> tuple[list[str], list[str]]:
    t = terms()
    org_types = policy_terms().organisation_types
    orgs: list[str] = []
    types: list[str] = []
    for i, actor in enumerate(provision.get("actor") or []):
        where = f"Consent.provision.actor[{i}]"
        roles = codings(actor.get("role"))
        named_types = [c for s, c in roles if (s in ("", t.hub["organisation_type"])) and (c in org_types or c == ANY)]
        unknown = [c for s, c in roles if s == t.hub["organisation_type"] and c not in org_types and c != ANY]
        if unknown:
            raise MappingError(
                f"unknown organisation type {unknown[0]!r} (use {', '.join(sorted(org_types))})", f"{where}.role"
            )
        types += named_types
        recipient = any(c in t.recipient_roles.get(s, ()) for s, c in roles) or bool(named_types)
        if not recipient:
            continue  # an actor in another role (custodian, author) does not say who may be told
        ref = actor.get("reference") or {}
        ident = ref.get("identifier") if isinstance(ref, dict) else None
        if not ident and ref.get("reference"):
            target = resolve(str(ref["reference"]), r)
            ident = f.first((target[0].get("identifier") if target else None) or [None])
        if isinstance(ident, dict) and ident.get("value"):
            system = str(ident.get("system") or "")
            if system and system not in t.organisation_identifiers:
                raise MappingError(
                    f"recipient identifier system {system[:80]!r} is not one the hub knows "
                    f"({', '.join(t.organisation_identifiers)})",
                    f"{where}.reference.identifier.system",
                )
            orgs.append(str(ident["value"]))
        elif not named_types:
            raise MappingError(
                "a recipient needs an organisation identifier (ODS code, school URN, LA code) or an organisation "
                "type role",
                f"{where}.reference",
            )
    return sorted(set(orgs)), sorted(set(types))


def _categories(provision: dict[str, Any]) -> list[str]:
    t = terms()
    out: set[str] = set()
    for i, (system, code) in enumerate(codings(provision.get("class"))):
        if system == t.hub["category"] or (not system and (code in CATEGORIES or code == ANY)):
            if code not in CATEGORIES and code != ANY:
                raise MappingError(f"unknown category {code!r}", f"Consent.provision.class[{i}]")
            out.add(code)
        elif code in t.resource_classes.get(system, {}):
            out.update(t.resource_classes[system][code])
        else:
            raise MappingError(
                f"provision.class {code!r} is not a resource type or category the hub maps",
                f"Consent.provision.class[{i}]",
            )
    for i, concept in enumerate(provision.get("code") or []):
        pairs = codings(concept)
        hub = [c for s, c in pairs if s == t.hub["category"] and (c in CATEGORIES or c == ANY)]
        sealed = classify(pairs).category
        found = hub or ([sealed] if sealed else [])
        if not found:
            raise MappingError(
                "provision.code names no category the hub knows (a hub category, or a code in a value set)",
                f"Consent.provision.code[{i}]",
            )
        out.update(found)
    labelled = classify([], [c for _, c in codings(provision.get("securityLabel"))])
    if labelled.category:
        out.add(labelled.category)
    return sorted(out)


def _purposes(provision: dict[str, Any]) -> list[str]:
    t = terms()
    out: set[str] = set()
    for i, (system, code) in enumerate(codings(provision.get("purpose"))):
        table = t.purposes.get(system) or (t.purposes[t.hub["purpose"]] if not system else {})
        if code not in table:
            raise MappingError(
                f"purpose {code!r} is not one the hub maps (v3-ActReason TREAT, ETREAT, CAREMGT, COC, THREAT, HSAFE, "
                "or the hub's direct-care, safeguarding, audit)",
                f"Consent.provision.purpose[{i}]",
            )
        out.add(table[code])
    return sorted(out)


def replaced_consent(r: dict[str, Any]) -> str | None:
    """The consent id this one replaces: the hub's `replaces` extension, FHIR's `replaces`, or a sourceReference
    to a Consent."""
    for url in (terms().hub["replaces"], "http://hl7.org/fhir/StructureDefinition/replaces"):
        text = _ext_text(_extension(r, url))
        if text:
            return text.split("/")[-1] if text.startswith("Consent/") else text
    source = r.get("sourceReference") or {}
    reference = str(source.get("reference") or "")
    if reference.startswith("Consent/"):
        return reference.split("/")[1]
    return None


def consent_payload(r: dict[str, Any], organisation: str, resolve: Resolve) -> dict[str, Any]:
    provision = r.get("provision") or {}
    st = r.get("status")
    refused = st == "rejected" or provision.get("type") == "deny"
    status = "withdrawn" if st == "inactive" else "refused" if refused else "given"
    orgs, types = _recipients(provision, resolve, r)
    categories = _categories(provision)
    purposes = _purposes(provision)
    if status == "given":
        if not orgs and not types:
            raise MappingError(
                "a consent given must name who may be told (provision.actor with role IRCP and an organisation "
                "identifier, or an organisation-type role)",
                "Consent.provision.actor",
            )
        if not categories:
            raise MappingError(
                "a consent given must name what it covers (provision.class, provision.code or a hub category)",
                "Consent.provision.class",
            )
        if not purposes:
            raise MappingError(
                "a consent given must name its purposes (provision.purpose)", "Consent.provision.purpose"
            )
    period = provision.get("period") or {}
    consent_id = str(r.get("id") or (f.first(r.get("identifier")) or {}).get("value") or "unidentified")
    return canonical.consent_payload(
        consent_id,
        status,
        given_by(r, resolve),
        f.ref_identifier(r.get("organization")) or organisation,
        organisations=orgs,
        organisation_types=types,
        categories=categories,
        purposes=purposes,
        start=f.fhir_datetime(period.get("start")),
        end=f.fhir_datetime(period.get("end")),
        # `inactive` ends this consent and nothing else (FHIR: terminated or replaced); it is not a refusal of
        # everything the consent covered, which would also close consents the young person gave elsewhere.
        withdraws=consent_id if st == "inactive" else None,
    )


def withdrawal_of(payload: dict[str, Any], replaced: str) -> dict[str, Any]:
    """The targeted withdrawal a replacing Consent implies: it ends `replaced` and nothing else."""
    return {
        **payload,
        "consent_id": f"{payload['consent_id']}/replaces/{replaced}"[:120],
        "status": "withdrawn",
        "recipient_organisations": [],
        "recipient_organisation_types": [],
        "categories": [],
        "purposes": [],
        "period_end": None,
        "withdraws": replaced,
    }


# ---- competence ---------------------------------------------------------------------------------------------


def is_competence(r: dict[str, Any]) -> bool:
    return any(s == terms().hub["competence"] for s, _ in codings(r.get("code")))


def competence_payload(r: dict[str, Any], resolve: Resolve) -> tuple[dict[str, Any], datetime | None]:
    """Observation.code = competence#assessment (hub system); value = competence#competent | not-competent;
    component competence#framework (gillick | fraser), competence#decision (text or code), competence#category
    (repeatable, hub category; none = all); performer = the practitioner (PractitionerRole gives the role)."""
    system = terms().hub["competence"]
    value = [c for s, c in codings(r.get("valueCodeableConcept")) if s == system]
    if not value or value[0] not in ("competent", "not-competent"):
        raise MappingError(
            f"the outcome must be {system}#competent or #not-competent", "Observation.valueCodeableConcept"
        )
    parts: dict[str, list[str]] = {}
    for comp in r.get("component") or []:
        key = next((c for s, c in codings(comp.get("code")) if s == system), None)
        if key is None:
            continue
        text = comp.get("valueString") or f.code(comp.get("valueCodeableConcept"))
        if text:
            parts.setdefault(key, []).append(str(text))
    framework = (parts.get("framework") or ["gillick"])[0].lower()
    if framework not in ("gillick", "fraser"):
        raise MappingError("framework must be gillick or fraser", "Observation.component")
    decision = (parts.get("decision") or [""])[0]
    if not decision:
        raise MappingError(f"name the decision assessed (component {system}#decision)", "Observation.component")
    unknown = [c for c in parts.get("category", []) if c not in CATEGORIES]
    if unknown:
        raise MappingError(f"unknown category {unknown[0]!r}", "Observation.component")
    assessor = _assessor(r, resolve)
    when = f.fhir_datetime(r.get("effectiveDateTime")) or f.fhir_datetime(r.get("issued"))
    if when is None:
        raise MappingError("when was competence assessed? (effectiveDateTime)", "Observation.effectiveDateTime")
    payload = {
        "assessment_id": str(r.get("id") or (f.first(r.get("identifier")) or {}).get("value") or "unidentified"),
        "outcome": "competent" if value[0] == "competent" else "not_competent",
        "decision": "-".join(decision.lower().split()),
        "categories": sorted(set(parts.get("category", []))),
        "assessed_by": assessor,
        "assessed_at": when,
        "framework": framework,
    }
    return payload, when


def _assessor(r: dict[str, Any], resolve: Resolve) -> str:
    for p in r.get("performer") or []:
        reference = str(p.get("reference") or "")
        target = resolve(reference, r) if reference else None
        rtype = (target[0].get("resourceType") if target else reference.split("/")[0]) or ""
        if rtype not in ("Practitioner", "PractitionerRole") and not p.get("identifier"):
            continue
        who = f.ref_identifier(p) or reference
        role = None
        if target and rtype == "PractitionerRole":
            role = f.display(target[0].get("code"))
            who = (
                f.ref_identifier(target[0].get("practitioner"))
                or (target[0].get("practitioner") or {}).get("reference")
                or who
            )
        return f"{role}: {who}" if role else str(who)
    raise MappingError(
        "who assessed competence? performer must be a Practitioner or PractitionerRole", "Observation.performer"
    )


# ---- lawful basis -------------------------------------------------------------------------------------------


def stated_basis(r: dict[str, Any], path: str, default: SharingBasis) -> SharingBasis:
    """A lawful basis the sender states: the hub's lawful-basis extension (code, decidedBy, reason), or a
    meta.security code in the hub's lawful-basis system (then decidedBy and reason come from the extension).
    Without either, `default` (direct care)."""
    t = terms()
    url = t.hub["lawful_basis_extension"]
    ext = _extension(r, url)
    security = [c for s, c in codings((r.get("meta") or {}).get("security")) if s == t.hub["lawful_basis"]]
    if ext is None and not security:
        return default
    where = f"{path}.extension('{url}')"
    subs = {str(e.get("url")): e for e in (ext or {}).get("extension") or [] if isinstance(e, dict)}
    code = _ext_text(subs.get("code")) or (security[0] if security else None)
    code_at = f"{where}.extension('code')" if ext is not None else f"{path}.meta.security"
    return basis(
        "lawful_basis",
        code,
        _ext_text(subs.get("decidedBy")),
        _ext_text(subs.get("reason")),
        location=code_at,
        decided_by_location=f"{where}.extension('decidedBy')",
        reason_location=f"{where}.extension('reason')",
    )
