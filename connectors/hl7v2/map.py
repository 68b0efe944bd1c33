"""A parsed HL7 v2 message → canonical OneStory events. Pure: the mapping table and clock are arguments.

mapping.yaml says which message types are taken and what they become; payloads.py reads the segments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

import yaml

from connectors.canonical import CATEGORIES, EventSpec, Source, basis, build_event, consent_event, make_subject
from connectors.errors import MappingError, OutOfScope
from connectors.hl7v2 import clinical, payloads
from connectors.hl7v2.parse import Hl7Message, Segment
from connectors.hl7v2.payloads import LONDON, parse_ts
from connectors.value_sets import classify
from hub.events.model import Envelope, Subject

__all__ = ["Hl7Mapping", "map_message", "parse_ts"]

_READERS: dict[str, Callable[[Hl7Message, str | None], payloads.Read]] = {
    "Encounter": payloads.encounter,
    "Person": payloads.person,
    "Correction": payloads.correction,
    "Appointment": payloads.appointment,
    "Referral": payloads.referral,
}
_CLINICAL: dict[str, Callable[[Hl7Message, dict[str, Any], dict[str, Any]], payloads.Read]] = {
    "Document": clinical.letter,
    "OutcomeMeasure": clinical.outcome,
    "OrderReferral": clinical.order_referral,
}
_RECORD = {"OutcomeMeasure": "Assessment", "OrderReferral": "Referral"}  # reader → Avro payload record
PAYLOADS = frozenset(_READERS) | frozenset(_CLINICAL) | {"Merge", "PatientLink"}
WHO = {"young-person": "the young person", "parental-responsibility": "a person with parental responsibility"}


@dataclass(frozen=True)
class Hl7Mapping:
    """The contents of mapping.yaml, checked once at load."""

    nhs_authorities: frozenset[str]
    nhs_types: frozenset[str]
    sharing_basis: dict[str, Any]
    patient_class: dict[str, str]
    messages: dict[str, dict[str, Any]]
    consent: dict[str, Any]
    out_of_scope: dict[str, str]
    clinical: dict[str, Any]

    @classmethod
    def from_yaml(cls, text: str) -> Hl7Mapping:
        data = yaml.safe_load(text)
        messages = {k: dict(v) for k, v in data["messages"].items()}
        for key, rule in messages.items():
            if rule["payload"] not in PAYLOADS or rule["category"] not in CATEGORIES:
                raise ValueError(f"mapping.yaml: {key} names an unknown payload or category")
        return cls(
            nhs_authorities=frozenset(a.upper() for a in data["nhs_number"]["assigning_authorities"]),
            nhs_types=frozenset(t.upper() for t in data["nhs_number"]["identifier_types"]),
            sharing_basis=dict(data["sharing_basis"]),
            patient_class=dict(data["patient_class"]),
            messages=messages,
            consent=dict(data.get("consent") or {}),
            out_of_scope={str(k): str(v) for k, v in (data.get("out_of_scope") or {}).items()},
            clinical=dict(data.get("clinical") or {}),
        )

    @classmethod
    def bundled(cls) -> Hl7Mapping:
        return cls.from_yaml(resources.files("connectors.hl7v2").joinpath("mapping.yaml").read_text())


def _subject(pid: Segment, org: str, mapping: Hl7Mapping, where: str = "PID") -> Subject:
    found = payloads.identifiers(pid, 3, org, mapping.nhs_authorities, mapping.nhs_types)
    if not found:
        raise MappingError("no patient identifier", f"{where}-3")
    if not any(i["validated"] for i in found):
        raise MappingError("no usable patient identifier: the NHS number fails its check digit", f"{where}-3")
    birth = parse_ts(pid.value(7), f"{where}-7")
    return make_subject(
        found,
        family_name=pid.value(5, 1),
        given_name=pid.value(5, 2),
        birth_date=birth.astimezone(LONDON).date() if birth else None,
        sex=pid.value(8),
        postcode=pid.value(11, 5),
        location=f"{where}-3",
    )


def _summary(rule: dict[str, Any], fields: dict[str, Any], mapping: Hl7Mapping) -> str:
    """The rule's summary with {encounter} (PV1-2 in words) and payload fields; `summary_plain` if one is empty."""
    words = mapping.patient_class.get(str(fields.get("encounter_class") or ""), "hospital encounter")
    values = {k: v for k, v in fields.items() if isinstance(v, str) and v}
    try:
        return str(rule["summary"]).format(encounter=words[:1].upper() + words[1:], **values)
    except KeyError:
        return str(rule.get("summary_plain") or rule["summary"])


def _link(message: Hl7Message, org: str, mapping: Hl7Mapping, evn: Segment | None) -> payloads.Read:
    """ADT^A24 / A37: the second PID is the record linked to (or unlinked from) the subject's."""
    pids = message.all("PID")
    if len(pids) < 2:
        raise MappingError(
            f"{message.header.message_type} needs a second PID segment: the record to link or unlink", "PID[2]"
        )
    linked = _subject(pids[1], org, mapping, "PID[2]")
    reason = (evn.value(4, 2) or evn.value(4, 1)) if evn else None
    return {"linked_subject": linked, "reason": reason}, {}, None


def map_message(
    message: Hl7Message,
    mapping: Hl7Mapping,
    received_at: datetime,
    *,
    organisation: str | None = None,
    organisation_type: str | None = None,
) -> list[Envelope]:
    """The message's events, attributed to `organisation` (of `organisation_type`) as the directory knows the
    sender by its MSH-4; without one, to MSH-4 itself (untyped), for callers that have no directory."""
    header = message.header
    rule = mapping.messages.get(header.message_type)
    if rule is None:
        code, trigger = header.message_code, header.trigger_event
        why = mapping.out_of_scope.get(header.message_type)
        if why:
            raise OutOfScope(f"message type {code} {trigger} is not taken by this hub: {why}", "MSH-9")
        taken: dict[str, list[str]] = {}
        for key in sorted(mapping.messages):
            taken.setdefault(key.split("^")[0], []).append(key.split("^")[1])
        listed = "; ".join(f"{c} {' '.join(t)}" for c, t in taken.items())
        raise OutOfScope(f"message type {code} {trigger} is not taken by this hub (taken: {listed})", "MSH-9")
    pid = message.first("PID")
    if pid is None:
        raise MappingError("no PID segment", "PID")
    org = organisation or header.sending_facility or header.sending_application
    if not org:
        raise MappingError("no sending facility or application to attribute the event to", "MSH-4")
    subject = _subject(pid, org, mapping)
    evn = message.first("EVN")
    recorded = parse_ts(evn.value(2) if evn else None, "EVN-2") or parse_ts(header.timestamp, "MSH-7") or received_at

    reader = rule["payload"]
    extra_labels: tuple[str, ...] = ()
    if reader == "Merge":
        fields, correlation, hint = payloads.merge(message, org, mapping.nhs_authorities, mapping.nhs_types)
    elif reader == "PatientLink":
        fields, correlation, hint = _link(message, org, mapping, evn)
    elif reader in _CLINICAL:
        scoped = {**rule, "out_of_scope": mapping.out_of_scope.get(header.message_type)}
        fields, correlation, hint = _CLINICAL[reader](message, scoped, mapping.clinical)
        extra_labels = clinical.measure_labels(fields)
    else:
        fields, correlation, hint = _READERS[reader](message, rule.get("status"))
    occurred = parse_ts(evn.value(6) if evn else None, "EVN-6") or hint or recorded
    summary = _summary(rule, fields, mapping)

    b = mapping.sharing_basis
    found = classify(payloads.coded(message) + clinical.document_codes(message))
    category = rule["category"]
    category = (rule.get("organisation_categories") or {}).get(organisation_type or "", category)
    kept = rule.get("label_category_kept") or ()
    if found.category and category != "demographics" and found.category not in kept:
        category = found.category
    labels = sorted(
        {*found.labels, *extra_labels, *(rule.get("organisation_labels") or {}).get(organisation_type or "", ())}
    )
    spec = EventSpec(
        kind=rule["kind"],
        category=category,
        record_id=header.control_id,
        subject=subject,
        occurred_at=occurred,
        recorded_at=recorded,
        summary=summary,
        payload_type=_RECORD.get(reader, reader),
        payload=fields,
        sharing_basis=basis(b["kind"], b.get("reference"), b.get("decided_by"), b.get("reason")),
        correlation_ids=correlation,
        sensitivity_labels=labels,
    )
    source = Source("hl7v2", header.sending_application or "hl7v2", org, organisation_type)
    events = [build_event(source, spec, content=message.text)]
    if mapping.consent:
        for n, (fields, corr, decided) in enumerate(payloads.consents(message, mapping.consent, org), start=1):
            who = WHO[fields["given_by"]]
            consent = consent_event(
                fields,
                record_id=f"{header.control_id}#CON{n}",
                subject=subject,
                occurred_at=decided or recorded,
                recorded_at=recorded,
                summary=f"Consent {fields['status']} by {who} (recorded at source)",
                correlation=corr,
            )
            events.append(build_event(source, consent, content=message.text, index=n))
    return events
