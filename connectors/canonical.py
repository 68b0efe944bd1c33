"""Building canonical envelopes, shared by every connector so that each fills the same fields the same way.

Connectors differ in how they read their source; they must not differ in how an event is identified,
attributed or keyed. Pure: no clock reads (times come in as arguments).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

import yaml

from connectors.errors import MappingError
from connectors.identifiers import (
    NHS_NUMBER_SYSTEM,
    UPN_SYSTEM,
    is_valid_nhs_number,
    is_valid_upn,
    normalise_nhs_number,
)
from hub.events.model import Envelope, Identifier, SharingBasis, Subject, event_id

CATEGORIES = frozenset(
    {
        "mental-health",
        "attendance",
        "pastoral-concern",
        "safeguarding-concern",
        "social-care-plan",
        "sexual-health",
        "gender-identity",
        "pregnancy",
        "substance-use",
        "encounter",
        "referral",
        "demographics",
        "vcse-support",
        "self-referral",
        "voice-of-child",
        "thrive",
        "consent",
        "education-sen",
        "exclusion",
        "assessment",
        "appointment",
    }
)
NO_BASIS: SharingBasis = {"kind": "none", "reference": None, "decided_by": None, "reason": None}


def local_id_system(organisation: str, scope: str) -> str:
    """Local ids are only unique within the issuing organisation (and the scope it gives them)."""
    return f"urn:onestory:id:{organisation}:{scope}"


def nhs_identifier(value: str) -> Identifier:
    number = normalise_nhs_number(value)
    return {"system": NHS_NUMBER_SYSTEM, "value": number, "validated": is_valid_nhs_number(number)}


def upn_identifier(value: str) -> Identifier:
    upn = value.strip().upper()
    return {"system": UPN_SYSTEM, "value": upn, "validated": is_valid_upn(upn)}


def make_subject(
    identifiers: list[Identifier],
    *,
    given_name: str | None = None,
    family_name: str | None = None,
    birth_date: date | None = None,
    sex: str | None = None,
    postcode: str | None = None,
    location: str = "subject",
) -> Subject:
    """A subject must carry at least one identifier the hub can link on, or the event could never find its child."""
    if not identifiers:
        raise MappingError("no subject identifier", location)
    if not any(i["validated"] for i in identifiers):
        raise MappingError("no usable subject identifier: every identifier given fails its check", location)
    return {
        "identifiers": identifiers,
        "given_name": given_name or None,
        "family_name": family_name or None,
        "birth_date": birth_date,
        "sex": sex or None,
        "postcode": postcode or None,
    }


@dataclass(frozen=True)
class RecordedBasis:
    """A lawful basis the policy lets a source record on an entry (`applies: recorded`)."""

    code: str
    requires_decision: bool


@dataclass(frozen=True)
class PolicyTerms:
    """The policy's vocabulary intake checks against: recorded lawful bases, organisation types, purposes."""

    lawful_bases: dict[str, RecordedBasis]
    organisation_types: frozenset[str]
    purposes: frozenset[str]


@cache
def policy_terms() -> PolicyTerms:
    """Read from the bundled default policy on first use (never at import time), once per process.

    Intake refuses what the policy does not define: a basis or a consent scope the consent engine cannot use
    would be stored as unusable and hide the entry from everyone, so the sender is told instead.
    """
    text = resources.files("consent_engine.policies").joinpath("default.yaml").read_text(encoding="utf-8")
    policy = yaml.safe_load(text) or {}
    bases = policy.get("lawful_bases") or {}
    return PolicyTerms(
        lawful_bases={
            str(code): RecordedBasis(str(code), bool(spec.get("requires_decision", False)))
            for code, spec in bases.items()
            if isinstance(spec, dict) and spec.get("applies") == "recorded"
        },
        organisation_types=frozenset(str(t) for t in policy.get("organisation_types") or {}),
        purposes=frozenset(str(p) for p in policy.get("purposes") or {}),
    )


def recorded_lawful_bases() -> dict[str, RecordedBasis]:
    """The lawful-basis codes a source may record (`applies: recorded` in the default policy)."""
    return policy_terms().lawful_bases


def basis(
    kind: str,
    reference: str | None = None,
    decided_by: str | None = None,
    reason: str | None = None,
    *,
    location: str = "sharing_basis",
    decided_by_location: str | None = None,
    reason_location: str | None = None,
) -> SharingBasis:
    """A sharing basis as recorded at source, refused (MappingError) if the consent engine could never use it.

    A lawful basis must name a code the policy defines as a recorded basis; one that `requires_decision`
    (safeguarding) must also say who decided and why. `location` is where the basis (its code) sits in the
    input; `decided_by_location` / `reason_location` where the decider and the reason sit (default
    `<location>.decided_by` / `<location>.reason`), so the sender is told exactly what to fill in.
    """
    if kind not in ("consent", "lawful_basis", "none"):
        raise MappingError(f"sharing basis kind must be consent, lawful_basis or none, not {kind!r}", location)
    reference = (reference or "").strip() or None
    decided_by = (decided_by or "").strip() or None
    reason = (reason or "").strip() or None
    if kind == "lawful_basis":
        known = recorded_lawful_bases()
        if reference is None:
            raise MappingError(f"a lawful basis needs its code (one of: {', '.join(sorted(known))})", location)
        spec = known.get(reference)
        if spec is None:
            raise MappingError(
                f"lawful basis {reference[:40]!r} is not a recorded basis in the policy "
                f"(use one of: {', '.join(sorted(known))})",
                location,
            )
        if spec.requires_decision and (decided_by is None or reason is None):
            missing = (
                "who decided and why are both missing"
                if decided_by is None and reason is None
                else "who decided is missing"
                if decided_by is None
                else "why (the reason) is missing"
            )
            where = (
                (decided_by_location or f"{location}.decided_by")
                if decided_by is None
                else (reason_location or f"{location}.reason")
            )
            raise MappingError(f"lawful basis {reference!r} needs who decided and why: {missing}", where)
    return {"kind": kind, "reference": reference, "decided_by": decided_by, "reason": reason}  # type: ignore[typeddict-item]


def consent_payload(
    consent_id: str,
    status: str,
    given_by: str,
    recorded_by: str,
    *,
    organisations: Iterable[str] = (),
    organisation_types: Iterable[str] = (),
    categories: Iterable[str] = (),
    purposes: Iterable[str] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    withdraws: str | None = None,
    competent: bool | None = None,
) -> dict[str, Any]:
    """The `Consent` payload (schemas/avro/onestory.payload.Consent.avsc), filled the same way by every connector.

    `competent` stays None unless the source itself recorded a young person's competence with the decision;
    competence is otherwise its own event (`competence.assessed`).
    """
    return {
        "consent_id": consent_id,
        "status": status,
        "given_by": given_by,
        "competent": competent,
        "recipient_organisations": list(organisations),
        "recipient_organisation_types": list(organisation_types),
        "categories": list(categories),
        "purposes": list(purposes),
        "period_start": start,
        "period_end": end,
        "recorded_by": recorded_by,
        "withdraws": withdraws,
    }


def consent_event(
    payload: dict[str, Any],
    *,
    record_id: str,
    subject: Subject,
    occurred_at: datetime,
    recorded_at: datetime,
    summary: str,
    sharing: SharingBasis | None = None,
    correlation: dict[str, str] | None = None,
) -> EventSpec:
    """A consent decision (a `consent_payload`) as an event, the same from every source that records one.

    Its kind follows its status; its basis for being shared is the consent itself unless the source recorded
    another; it is correlated by its consent id, after whatever else the source correlates it with.
    """
    consent_id = str(payload["consent_id"])
    return EventSpec(
        kind=f"consent.{payload['status']}",
        category="consent",
        record_id=record_id,
        subject=subject,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        summary=summary,
        payload_type="Consent",
        payload=payload,
        sharing_basis=sharing or basis("consent", consent_id),
        correlation_ids={**(correlation or {}), "consent": consent_id},
    )


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


@dataclass(frozen=True)
class Source:
    """Who sent it: the connector, the sending system and the organisation (ODS code, school URN, LA code)."""

    connector: str
    system: str
    organisation: str
    organisation_type: str | None


@dataclass
class EventSpec:
    """One canonical event before identification: everything but the id and the source attribution."""

    kind: str
    category: str
    record_id: str
    subject: Subject
    occurred_at: datetime
    recorded_at: datetime
    summary: str
    payload_type: str
    payload: dict[str, Any]
    sharing_basis: SharingBasis = field(default_factory=lambda: dict(NO_BASIS))  # type: ignore[assignment]
    correlation_ids: dict[str, str] = field(default_factory=dict)
    sensitivity_labels: list[str] = field(default_factory=list)


def build_event(source: Source, spec: EventSpec, content: str | bytes | None = None, index: int = 0) -> Envelope:
    """The event id hashes the source record id and its content, so a replayed export yields the same ids."""
    if spec.category not in CATEGORIES:
        raise MappingError(f"category {spec.category!r} is not in the consent engine's catalogue", "category")
    record_key = f"{source.system}|{source.organisation}|{spec.record_id}"
    if content is None:
        content = _canonical_json(
            {
                "kind": spec.kind,
                "subject": spec.subject,
                "payload": spec.payload,
                "occurred": spec.occurred_at,
                "basis": spec.sharing_basis,
                "labels": spec.sensitivity_labels,
                "corr": spec.correlation_ids,
            }
        )
    return {
        "event_id": event_id(source.connector, record_key, content, index),
        "kind": spec.kind,
        "category": spec.category,
        "child_id": None,
        "source": {
            "system": source.system,
            "organisation": source.organisation,
            "organisation_type": source.organisation_type,
            "record_id": record_key,
        },
        "occurred_at": spec.occurred_at,
        "recorded_at": spec.recorded_at,
        "subject": spec.subject,
        "sensitivity_labels": list(spec.sensitivity_labels),
        "sharing_basis": spec.sharing_basis,
        "correlation_ids": {k: v for k, v in spec.correlation_ids.items() if v},
        "summary": spec.summary,
        "payload": (f"onestory.payload.{spec.payload_type}", spec.payload),
    }
