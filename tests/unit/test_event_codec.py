from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hub.events.codec import MAGIC, DecodeError, EventCodec
from hub.events.model import Envelope, event_id


def sample_event() -> Envelope:
    return {
        "event_id": event_id("test", "rec-1", b"body"),
        "kind": "encounter.started",
        "category": "encounter",
        "child_id": None,
        "source": {"system": "PAS", "organisation": "RX1", "organisation_type": "acute-trust", "record_id": "rec-1"},
        "occurred_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "recorded_at": datetime(2026, 1, 2, 3, 5, 0, tzinfo=UTC),
        "subject": {
            "identifiers": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765870", "validated": True}],
            "given_name": "Amara",
            "family_name": "Okafor",
            "birth_date": date(2011, 3, 4),
            "sex": "F",
            "postcode": "LS1 4AP",
        },
        "sensitivity_labels": ["PSY"],
        "sharing_basis": {"kind": "lawful_basis", "reference": "direct-care", "decided_by": None, "reason": None},
        "correlation_ids": {"encounter": "V1"},
        "summary": "A&E attendance started",
        "payload": (
            "onestory.payload.Encounter",
            {
                "encounter_id": "V1",
                "encounter_class": "E",
                "location": None,
                "clinician": None,
                "started_at": None,
                "ended_at": None,
            },
        ),
    }


def test_round_trip_uses_single_object_encoding() -> None:
    codec = EventCodec.load()
    data = codec.encode(dict(sample_event()))
    assert data[:2] == MAGIC
    assert data[2:10] == codec.reader_fingerprint
    decoded = codec.decode(data)
    assert decoded["subject"]["birth_date"] == date(2011, 3, 4)
    assert decoded["payload"][0] == "onestory.payload.Encounter"
    assert decoded["occurred_at"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_event_id_is_stable_for_the_same_record_and_content() -> None:
    assert event_id("hl7v2", "A|B|1", "text") == event_id("hl7v2", "A|B|1", "text")
    assert event_id("hl7v2", "A|B|1", "text") != event_id("hl7v2", "A|B|1", "other text")
    assert event_id("hl7v2", "A|B|1", "text") != event_id("hl7v2", "A|B|2", "text")


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"plain json", "missing C3 01"), (MAGIC + b"\x00" * 8 + b"x", "unknown writer schema")],
)
def test_decode_rejects_foreign_bytes_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        EventCodec.load().decode(data)


def test_truncated_body_is_a_decode_error() -> None:
    codec = EventCodec.load()
    data = codec.encode(dict(sample_event()))
    with pytest.raises(DecodeError, match="corrupt Avro body"):
        codec.decode(data[:40])
