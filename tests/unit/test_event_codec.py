from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# The generated reader for the current schema (EventCodec.fast_readers) must read exactly what fastavro reads.

_CODEC = EventCodec.load()
_FASTAVRO_ONLY = dataclasses.replace(_CODEC, fast_readers={})
_NAMED: dict[str, Any] = {}


def _collect(schema: Any) -> None:
    if isinstance(schema, list):
        for s in schema:
            _collect(s)
    elif isinstance(schema, dict):
        if schema.get("type") in ("record", "enum"):
            _NAMED[schema["name"]] = schema
        for f in schema.get("fields", ()):
            _collect(f["type"])
        for key in ("items", "values"):
            if key in schema:
                _collect(schema[key])


_collect(_CODEC.reader)
_TEXT = st.text(max_size=12)


def _values(schema: Any) -> st.SearchStrategy[Any]:
    """Any value the schema allows, in the form fastavro's writer takes (a union's record as (name, record))."""
    if isinstance(schema, str) and schema in _NAMED:
        schema = _NAMED[schema]
    if isinstance(schema, list):
        branches = []
        for branch in schema:
            named = _NAMED.get(branch, branch) if isinstance(branch, str) else branch
            if isinstance(named, dict) and named.get("type") == "record":
                branches.append(_values(named).map(lambda value, name=named["name"]: (name, value)))
            else:
                branches.append(_values(branch))
        return st.one_of(branches)
    kind = schema if isinstance(schema, str) else schema["type"]
    logical = schema.get("logicalType") if isinstance(schema, dict) else None
    if logical == "timestamp-micros":
        return st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC))
    if logical == "date":
        return st.dates()
    simple: dict[str, st.SearchStrategy[Any]] = {
        "null": st.none(),
        "boolean": st.booleans(),
        "int": st.integers(-(2**31), 2**31 - 1),
        "long": st.integers(-(2**63), 2**63 - 1),
        "double": st.floats(allow_nan=False),
        "string": _TEXT,
    }
    if kind in simple:
        return simple[kind]
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "array":
        return st.lists(st.deferred(lambda: _values(schema["items"])), max_size=3)
    if kind == "map":
        return st.dictionaries(_TEXT, st.deferred(lambda: _values(schema["values"])), max_size=3)
    if kind == "record":
        return st.fixed_dictionaries({f["name"]: st.deferred(lambda f=f: _values(f["type"])) for f in schema["fields"]})
    if isinstance(kind, dict | list):
        return _values(kind)
    raise AssertionError(f"no strategy for {schema}")


def _outcome(codec: EventCodec, data: bytes) -> tuple[str, Any]:
    try:
        return ("value", codec.decode(data))
    except Exception as exc:  # noqa: BLE001 - the outcome compared is the kind of failure
        return ("error", type(exc).__name__)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_values(_CODEC.reader))
def test_the_generated_reader_reads_what_fastavro_reads(event: dict[str, Any]) -> None:
    data = _CODEC.encode(event)
    assert _CODEC.fast_readers, "the current schema has a generated reader"
    fast, end = _CODEC.fast_readers[_CODEC.reader_fingerprint](data, 10)
    assert end == len(data)
    slow = _FASTAVRO_ONLY.decode(data)
    assert fast == slow
    assert repr(fast) == repr(slow), "same types and key order too"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_values(_CODEC.reader), st.data())
def test_damaged_bytes_decode_as_fastavro_decodes_them(event: dict[str, Any], data: st.DataObject) -> None:
    """Truncated or altered bodies: the same record or the same kind of failure as fastavro alone."""
    body = bytearray(_CODEC.encode(event))
    at = data.draw(st.integers(10, len(body) - 1))
    if data.draw(st.booleans()):
        body = body[:at]
    else:
        body[at] = data.draw(st.integers(0, 255))
    assert _outcome(_CODEC, bytes(body)) == _outcome(_FASTAVRO_ONLY, bytes(body))
