"""Every real HL7 v2 sample is either mapped to the expected event or rejected with a precise reason (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.errors import MappingError, OutOfScope
from connectors.hl7v2.ack import build_ack
from connectors.hl7v2.map import Hl7Mapping, map_message
from connectors.hl7v2.parse import normalise, parse, read_header
from connectors.identifiers import NHS_NUMBER_SYSTEM
from hub.events.codec import EventCodec
from tests.conftest import hl7_samples
from tests.unit.connectors.hl7_expectations import ACCEPTED_KINDS, OUT_OF_SCOPE

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
MAPPING = Hl7Mapping.bundled()
CODEC = EventCodec.load()
SAMPLES = hl7_samples()


def test_every_sample_has_an_expected_outcome() -> None:
    names = {p.name for p in SAMPLES}
    assert names <= set(ACCEPTED_KINDS) | set(OUT_OF_SCOPE), names - set(ACCEPTED_KINDS) - set(OUT_OF_SCOPE)
    assert len(SAMPLES) >= 15


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_is_mapped_or_precisely_rejected(path: Path) -> None:
    raw = path.read_bytes()
    message = parse(raw)
    if path.name in OUT_OF_SCOPE:
        location, why = OUT_OF_SCOPE[path.name]
        with pytest.raises(OutOfScope) as err:
            map_message(message, MAPPING, NOW)
        assert err.value.location == location
        assert why in err.value.reason
        ack = build_ack(message.header, "AR", NOW, "OS1", err.value.reason, err.value.location).decode()
        assert "ERR" in ack and location in ack
        return
    events = map_message(message, MAPPING, NOW)
    assert [e["kind"] for e in events] == [ACCEPTED_KINDS[path.name]]
    event = events[0]
    assert any(i["validated"] for i in event["subject"]["identifiers"])
    assert CODEC.decode(CODEC.encode(dict(event)))["event_id"] == event["event_id"]
    # The same bytes give the same event id (idempotent re-sends).
    assert map_message(parse(raw), MAPPING, NOW)[0]["event_id"] == event["event_id"]


@pytest.mark.parametrize("separator", [b"\n", b"\r\n", b"\r"])
def test_segment_separators_do_not_matter(separator: bytes) -> None:
    raw = next(p for p in SAMPLES if p.name == "pipehat_ADT_A04_v2.4.hl7").read_bytes()
    variant = raw.replace(b"\r\n", b"\r").replace(b"\n", b"\r").replace(b"\r", separator)
    assert map_message(parse(variant), MAPPING, NOW)[0]["kind"] == "encounter.started"


def test_merge_contract_subject_is_the_survivor_and_mrg_identifiers_are_retired() -> None:
    """The identity-resolution contract: ADT^A40 → patient.merged / demographics / onestory.payload.Merge."""
    raw = (
        b"MSH|^~\\&|PAS|RX1|HUB|HUB|20261101093000||ADT^A40|M1|P|2.4\r"
        b"EVN|A40|20261101093000\r"
        b"PID|1||SURV1^^^RX1^MR~9434765870^^^NHS^NH||Okafor^Amara||20110304|F\r"
        b"MRG|OLD7^^^RX1^MR~943 476 5870^^^NHS^NH\r"
    )
    (event,) = map_message(parse(raw), MAPPING, NOW)
    assert (event["kind"], event["category"]) == ("patient.merged", "demographics")
    payload_type, payload = event["payload"]
    assert payload_type == "onestory.payload.Merge"
    assert {"system": "urn:onestory:id:RX1:RX1", "value": "SURV1", "validated": True} in event["subject"]["identifiers"]
    assert payload["retired_identifiers"] == [
        {"system": "urn:onestory:id:RX1:RX1", "value": "OLD7", "validated": True},
        {"system": NHS_NUMBER_SYSTEM, "value": "9434765870", "validated": True},
    ]
    assert "reason" in payload


def test_merge_without_mrg_is_an_application_error() -> None:
    raw = b"MSH|^~\\&|PAS|RX1|HUB|HUB|20261101093000||ADT^A40|M2|P|2.4\rPID|1||SURV1^^^RX1^MR\r"
    with pytest.raises(MappingError) as err:
        map_message(parse(raw), MAPPING, NOW)
    assert err.value.location == "MRG"


SIU = (
    "MSH|^~\\&|SCHED|RX1|HUB|HUB|20261101093000||SIU^{trigger}|S{trigger}|P|2.5.1\r"
    "SCH|PL1|FL77||||ROUTINE^Routine|FOLLOWUP^Follow-up||||^^^20261110140000^20261110143000\r"
    "PID|1||M12345^^^RX1^MR~9434765870^^^NHS^NH||Okafor^Amara||20110304|F\r"
    "AIS|1||CAMHS^CAMHS follow-up\r"
    "AIL|1||CLINIC3\r"
)


@pytest.mark.parametrize(
    ("trigger", "kind", "status"),
    [
        ("S12", "appointment.booked", "booked"),
        ("S13", "appointment.booked", "rescheduled"),
        ("S14", "appointment.booked", "modified"),
        ("S15", "appointment.cancelled", "cancelled"),
        ("S26", "appointment.missed", "missed"),
    ],
)
def test_siu_appointments(trigger: str, kind: str, status: str) -> None:
    (event,) = map_message(parse(SIU.format(trigger=trigger).encode()), MAPPING, NOW)
    assert (event["kind"], event["category"]) == (kind, "appointment")
    payload = event["payload"][1]
    assert payload["status"] == status
    assert payload["appointment_id"] == "FL77"
    assert payload["service"] == "CAMHS follow-up"
    assert payload["starts_at"] == datetime(2026, 11, 10, 14, 0, tzinfo=UTC)
    assert event["correlation_ids"] == {"appointment": "FL77"}


def test_referral_carries_a_correlation_id() -> None:
    raw = next(p for p in SAMPLES if "REF_I12" in p.name).read_bytes()
    (event,) = map_message(parse(raw), MAPPING, NOW)
    assert event["correlation_ids"] == {"referral": "226839"}
    assert event["payload"][1]["status"] == "made"


def test_header_of_nonstandard_delimiters_is_read() -> None:
    found = [p for p in SAMPLES if "nonstandard_delimiters" in p.name]
    if not found:  # a copyleft (MPL) sample: read from ../shared/samples only where that folder is present
        pytest.skip("hapi nonstandard-delimiters sample not present (../shared/samples missing)")
    raw = found[0].read_bytes()
    header = read_header(normalise(raw))
    assert (header.message_code, header.trigger_event) == ("ADT", "A24")
