"""The identity step writes the child id into the intake record's bytes: the same bytes as encoding again."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer

from hub.bench.workload import intake_records
from hub.events.child_id import ChildIdWriter
from hub.events.codec import MAGIC, EventCodec, default_schema_dir, schema_fingerprint

CHILD = "0f8e2a7c-1b7e-4b6e-9d7e-2a1c3b4d5e6f"


@pytest.fixture(scope="module")
def codec() -> EventCodec:
    return EventCodec.load()


def _resolved(codec: EventCodec, data: bytes, child_id: str) -> bytes:
    event = codec.decode(data)
    event["child_id"] = child_id
    return codec.encode(event)


def test_every_kind_of_workload_event_gets_the_bytes_the_codec_would_write(codec: EventCodec) -> None:
    writer = ChildIdWriter(codec)
    assert writer.fingerprint == codec.reader_fingerprint
    records = list(intake_records(codec, 12, 40, 3))
    assert len({codec.decode(r.value)["kind"] for r in records}) > 5
    for record in records:
        event = codec.decode(record.value)
        assert writer.encode(record.value, event, CHILD) == _resolved(codec, record.value, CHILD)


@pytest.mark.parametrize("child_id", ["", "x", "é" * 80, CHILD])
def test_a_child_id_already_given_is_replaced_and_lengths_of_any_size_are_written(
    codec: EventCodec, child_id: str
) -> None:
    writer = ChildIdWriter(codec)
    record = next(iter(intake_records(codec, 1, 1, 1)))
    with_child = _resolved(codec, record.value, "an-older-child-id")
    out = writer.encode(with_child, codec.decode(with_child), child_id)
    assert out == _resolved(codec, record.value, child_id)
    assert codec.decode(out)["child_id"] == child_id


def test_a_record_written_with_an_older_schema_is_encoded_again_with_the_current_one(codec: EventCodec) -> None:
    writer = ChildIdWriter(codec)
    snapshot = default_schema_dir() / "history" / "onestory.Envelope.v1.avsc"
    old_schema: dict[str, Any] = json.loads(snapshot.read_text())
    old_fp = schema_fingerprint(old_schema)
    assert old_fp != codec.reader_fingerprint
    record = next(iter(intake_records(codec, 1, 1, 1)))
    event = codec.decode(record.value)
    buffer = io.BytesIO()
    try:
        schemaless_writer(buffer, parse_schema(old_schema), event)
    except (ValueError, KeyError, TypeError):
        pytest.skip("the v1 envelope cannot hold this event")
    old = MAGIC + old_fp + buffer.getvalue()
    decoded = codec.decode(old)
    out = writer.encode(old, decoded, CHILD)
    assert out[2:10] == codec.reader_fingerprint
    assert out == _resolved(codec, old, CHILD)


def test_a_schema_that_moves_the_child_id_is_never_spliced(codec: EventCodec) -> None:
    class Moved:
        reader = {"fields": [{"name": "child_id", "type": ["null", "string"]}]}
        reader_fingerprint = codec.reader_fingerprint

        def encode(self, event: dict[str, Any]) -> bytes:
            return b"encoded:" + event["child_id"].encode()

    record = next(iter(intake_records(codec, 1, 1, 1)))
    event = codec.decode(record.value)
    assert ChildIdWriter(Moved()).encode(record.value, event, CHILD) == b"encoded:" + CHILD.encode()
