"""Timeline entry → FHIR resource, driven by a table from payload record to resource type and builder.

Shaping by disclosure level happens here, once, for every resource type:
- full: the builder's fields from the payload detail, the summary as narrative, all security labels;
- summary: the summary as narrative plus only what R4 requires and the category (the builder gets no detail);
- flag: always a Flag saying who is involved and whom to contact, whatever the entry was; no labels beyond
  the confidentiality code, because on an existence-only flag the sensitivity labels would be the content.
Hidden entries never reach this module.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class

from hub.fhir import care, clinical, encounters, messages, observations
from hub.fhir.meta import Served, category_concept, meta_for, narrative, patient_ref
from hub.fhir.uk_core import uk_core

Builder = Callable[[Served, dict[str, Any] | None], dict[str, Any]]


@dataclass(frozen=True)
class Mapping:
    resource_type: str
    build: Builder
    subject_field: str = "subject"  # where the patient reference goes (Consent uses `patient`)
    category_field: str | None = "category"  # where the entry category goes at summary level, if anywhere


# Payload record name (timeline detail.type) → how it is served. Unknown records become Observations.
MAPPINGS: dict[str, Mapping] = {
    "Encounter": Mapping("Encounter", encounters.encounter, category_field="type"),
    "Appointment": Mapping(
        "Appointment", clinical.appointment, subject_field="participant", category_field="serviceCategory"
    ),
    "VcseSession": Mapping("Encounter", encounters.vcse_session, category_field=None),
    "Referral": Mapping("ServiceRequest", care.referral),
    "SelfReferral": Mapping("ServiceRequest", care.self_referral),
    "Plan": Mapping("CarePlan", care.plan),
    "Assessment": Mapping("Observation", clinical.assessment, category_field=None),
    "Document": Mapping("DocumentReference", clinical.document_reference, category_field="category"),
    "Thrive": Mapping("Observation", observations.thrive),
    "AttendanceSummary": Mapping("Observation", observations.finding),
    "SenStatus": Mapping("Observation", observations.finding),
    "Exclusion": Mapping("Observation", observations.finding),
    "Concern": Mapping("Condition", observations.concern, category_field=None),
    "Communication": Mapping("Communication", messages.communication, category_field=None),
    "Voice": Mapping("Communication", messages.voice, category_field=None),
    "Consent": Mapping("Consent", messages.consent, subject_field="patient", category_field=None),
}
# Event kind → how it is served, where the kind says more than its payload record (a Person payload is a
# registration for person.registered, a demographics update otherwise). Checked before MAPPINGS.
KIND_MAPPINGS: dict[str, Mapping] = {
    "person.registered": Mapping("EpisodeOfCare", care.registration, subject_field="patient", category_field="type"),
}
FALLBACK = Mapping("Observation", observations.finding)
FLAG = "Flag"
ENTRY_TYPES = frozenset(
    {m.resource_type for m in (*MAPPINGS.values(), *KIND_MAPPINGS.values())} | {FALLBACK.resource_type, FLAG}
)


def mapping_for(row: dict[str, Any]) -> Mapping:
    by_kind = KIND_MAPPINGS.get(str(row.get("kind")))
    return by_kind or MAPPINGS.get(str((row.get("detail") or {}).get("type")), FALLBACK)


def resource_type_for(item: Served) -> str:
    return FLAG if item.level == "flag" else mapping_for(item.row).resource_type


def to_resource(item: Served) -> dict[str, Any]:
    """The one resource a served timeline entry becomes, validated against the R4B model."""
    row = item.row
    if item.level == "flag":
        resource = {
            "resourceType": FLAG,
            "id": row["entry_id"],
            "meta": meta_for([], "flag", row["source_org"], row["source_system"], None),
            "text": narrative(f"Involved: {item.org_name}.", item.message or ""),
            **messages.flag(item),
        }
        return validated(resource)
    m = mapping_for(row)
    full = item.level == "full"
    resource = {
        "resourceType": m.resource_type,
        "id": row["entry_id"],
        "meta": meta_for(
            list(row["sensitivity_labels"] or []), item.level, row["source_org"], row["source_system"], None
        ),
        "text": narrative(row["summary"], f"Recorded by {item.org_name}."),
        m.subject_field: patient_ref(row["child_id"]),
    }
    resource |= m.build(item, dict(row["detail"] or {}) if full else None)
    if not full and m.category_field:
        concept = category_concept(row["category"])
        resource[m.category_field] = concept if m.category_field == "code" else [concept]
    return validated(resource)


@cache
def _r4b_model(resource_type: str) -> Any:
    return get_fhir_model_class(resource_type)


class _Validated:
    """Digests of resources already checked in this process: the same content validates the same way.

    Validating with the R4B models is about half the cost of serving a `$everything` page, and a child's
    resources are mostly the same from one read to the next. The digest is of the whole resource (sorted
    keys), so any change in content is validated afresh. Bounded: the oldest half is dropped when full.
    """

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._seen: dict[bytes, None] = {}
        self._lock = threading.Lock()

    def check(self, resource: dict[str, Any]) -> None:
        digest = hashlib.blake2b(orjson.dumps(resource, option=orjson.OPT_SORT_KEYS), digest_size=16).digest()
        if digest in self._seen:
            return
        _r4b_model(resource["resourceType"]).model_validate(resource)  # raises if not valid R4B
        with self._lock:
            if len(self._seen) >= self.limit:
                for old in list(self._seen)[: self.limit // 2]:
                    del self._seen[old]
            self._seen[digest] = None


_VALIDATED = _Validated()


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """Claim the type's UK Core profile (meta.profile, from uk_core.yaml), check against the fhir.resources R4B
    model (raises if not valid R4) and serve the checked dict as built.

    Serialising the model back (`model_dump`) would cost more than the validation itself on every page.
    """
    profile = uk_core().profile(resource["resourceType"])
    if profile is not None:
        resource["meta"] = dict(resource.get("meta") or {}) | {"profile": [profile]}
    _VALIDATED.check(resource)
    return resource
