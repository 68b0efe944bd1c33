"""A parsed HL7 v2 message → canonical OneStory events. Pure: the mapping table and clock are arguments."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from connectors.errors import MappingError
from connectors.hl7v2.parse import Hl7Message, Segment
from connectors.identifiers import NHS_NUMBER_SYSTEM, is_valid_nhs_number, normalise_nhs_number
from hub.events.model import Envelope, Identifier, Subject, event_id

LONDON = ZoneInfo("Europe/London")
_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$")


@dataclass(frozen=True)
class Hl7Mapping:
    """The contents of mapping.yaml, checked once at load."""

    nhs_authorities: frozenset[str]
    nhs_types: frozenset[str]
    sharing_basis: dict[str, Any]
    organisation_type: str
    patient_class: dict[str, str]
    messages: dict[str, dict[str, str]]

    @classmethod
    def from_yaml(cls, text: str) -> Hl7Mapping:
        data = yaml.safe_load(text)
        return cls(
            nhs_authorities=frozenset(a.upper() for a in data["nhs_number"]["assigning_authorities"]),
            nhs_types=frozenset(t.upper() for t in data["nhs_number"]["identifier_types"]),
            sharing_basis=dict(data["sharing_basis"]),
            organisation_type=data["organisation_type"],
            patient_class=dict(data["patient_class"]),
            messages={k: dict(v) for k, v in data["messages"].items()},
        )

    @classmethod
    def bundled(cls) -> Hl7Mapping:
        return cls.from_yaml(resources.files("connectors.hl7v2").joinpath("mapping.yaml").read_text())


def parse_ts(value: str | None, location: str) -> datetime | None:
    """HL7 TS/DTM; no offset means English local time (the feeds this hub takes are English)."""
    if not value:
        return None
    match = _TS.match(value.strip())
    if not match:
        raise MappingError(f"not an HL7 date/time: expected YYYYMMDD[HHMM[SS]][+ZZZZ], got {len(value)} chars", location)
    y, mo, d, h, mi, s, tz = match.groups()
    try:
        naive = datetime(int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(s or 0))
    except ValueError as exc:
        raise MappingError(f"impossible date/time ({exc})", location) from exc
    if tz:
        sign = 1 if tz[0] == "+" else -1
        offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * sign
        return naive.replace(tzinfo=timezone(offset)).astimezone(UTC)
    return naive.replace(tzinfo=LONDON).astimezone(UTC)


def _identifiers(pid: Segment, org: str, mapping: Hl7Mapping) -> list[Identifier]:
    found: list[Identifier] = []
    for rep in pid.repetitions(3):
        value = rep[0].strip() if rep else ""
        if not value:
            continue
        authority = (rep[3].split(pid.delimiters.subcomponent)[0] if len(rep) > 3 else "").strip()
        id_type = (rep[4] if len(rep) > 4 else "").strip()
        if authority.upper() in mapping.nhs_authorities or id_type.upper() in mapping.nhs_types:
            number = normalise_nhs_number(value)
            found.append({"system": NHS_NUMBER_SYSTEM, "value": number, "validated": is_valid_nhs_number(number)})
        else:
            # Local ids are only unique within the issuing organisation (and its assigning authority).
            scope = authority or id_type or "local"
            found.append({"system": f"urn:onestory:id:{org}:{scope}", "value": value, "validated": True})
    return found


def _subject(pid: Segment, org: str, mapping: Hl7Mapping) -> Subject:
    identifiers = _identifiers(pid, org, mapping)
    if not identifiers:
        raise MappingError("no patient identifier", "PID-3")
    if not any(i["validated"] for i in identifiers):
        raise MappingError("no usable patient identifier: the NHS number fails its check digit", "PID-3")
    birth = parse_ts(pid.value(7), "PID-7")
    return {
        "identifiers": identifiers,
        "family_name": pid.value(5, 1),
        "given_name": pid.value(5, 2),
        "birth_date": birth.astimezone(LONDON).date() if birth else None,
        "sex": pid.value(8),
        "postcode": pid.value(11, 5),
    }


def _encounter(message: Hl7Message) -> dict[str, Any]:
    pv1 = message.first("PV1")
    if pv1 is None:
        return {"encounter_id": None, "encounter_class": None, "location": None, "clinician": None,
                "started_at": None, "ended_at": None}
    return {
        "encounter_id": pv1.value(19),
        "encounter_class": pv1.value(2),
        "location": pv1.value(3, 1),
        "clinician": pv1.value(7, 1),
        "started_at": parse_ts(pv1.value(44), "PV1-44"),
        "ended_at": parse_ts(pv1.value(45), "PV1-45"),
    }


def map_message(message: Hl7Message, mapping: Hl7Mapping, received_at: datetime) -> list[Envelope]:
    header = message.header
    rule = mapping.messages.get(header.message_type)
    if rule is None:
        supported = ", ".join(sorted(mapping.messages))
        raise MappingError(f"message type {header.message_type} is not supported (supported: {supported})", "MSH-9")
    pid = message.first("PID")
    if pid is None:
        raise MappingError("no PID segment", "PID")
    org = header.sending_facility or header.sending_application
    if not org:
        raise MappingError("no sending facility or application to attribute the event to", "MSH-4")
    subject = _subject(pid, org, mapping)
    evn = message.first("EVN")
    recorded = parse_ts(evn.value(2) if evn else None, "EVN-2") or parse_ts(header.timestamp, "MSH-7") or received_at

    if rule["payload"] == "Encounter":
        fields = _encounter(message)
        started_or_ended = fields["ended_at"] if rule["kind"].endswith(".ended") else fields["started_at"]
        occurred = parse_ts(evn.value(6) if evn else None, "EVN-6") or started_or_ended or recorded
        words = mapping.patient_class.get(fields["encounter_class"] or "", "hospital encounter")
        summary = rule["summary"].format(encounter=words[:1].upper() + words[1:])
        correlation = {"encounter": fields["encounter_id"]} if fields["encounter_id"] else {}
    else:
        fields = {"registered_gp": (message.first("PD1").value(3, 3) if message.first("PD1") else None)}
        occurred = parse_ts(evn.value(6) if evn else None, "EVN-6") or recorded
        summary = rule["summary"]
        correlation = {}

    record_key = f"{header.sending_application}|{org}|{header.control_id}"
    basis = mapping.sharing_basis
    return [
        {
            "event_id": event_id("hl7v2", record_key, message.text),
            "kind": rule["kind"],
            "category": rule["category"],
            "child_id": None,
            "source": {
                "system": header.sending_application or "hl7v2",
                "organisation": org,
                "organisation_type": mapping.organisation_type,
                "record_id": record_key,
            },
            "occurred_at": occurred,
            "recorded_at": recorded,
            "subject": subject,
            "sensitivity_labels": [],
            "sharing_basis": {
                "kind": basis["kind"],
                "reference": basis.get("reference"),
                "decided_by": basis.get("decided_by"),
                "reason": basis.get("reason"),
            },
            "correlation_ids": correlation,
            "summary": summary,
            "payload": (f"onestory.payload.{rule['payload']}", fields),
        }
    ]

