"""Decode once (hub/worker/decoded.py): the event identity hands the projection step is the event the
projection step would decode from the published bytes, and the hand-over is bounded and taken once."""

from __future__ import annotations

import io
import json
from typing import Any

from fastavro import parse_schema, schemaless_writer

from hub.bench.workload import intake_records
from hub.events.child_id import ChildIdWriter
from hub.events.codec import MAGIC, EventCodec, default_schema_dir, schema_fingerprint
from hub.worker.decoded import DecodedEvents
from hub.worker.stages import consumed

CHILD = "0f8e2a7c-1b7e-4b6e-9d7e-2a1c3b4d5e6f"
CODEC = EventCodec.load()


def _older(event: dict[str, Any]) -> bytes | None:
    """The event as a writer of the first released envelope would have sent it (None if it cannot hold it)."""
    schema = json.loads((default_schema_dir() / "history" / "onestory.Envelope.v1.avsc").read_text())
    buffer = io.BytesIO()
    try:
        schemaless_writer(buffer, parse_schema(schema), event)
    except (ValueError, KeyError, TypeError):
        return None
    return MAGIC + schema_fingerprint(schema) + buffer.getvalue()


def test_the_handed_over_event_is_what_decoding_the_published_bytes_gives() -> None:
    writer = ChildIdWriter(CODEC)
    intake = [r.value for r in intake_records(CODEC, 12, 40, 3)]
    older = [o for o in (_older(CODEC.decode(v)) for v in intake[:50]) if o is not None]
    checked = 0
    for data in [*intake, *older]:
        event = CODEC.decode(data)  # as the identity step decodes it, then resolves the child
        published = writer.encode(data, event, CHILD)
        assert CODEC.decode(published) == event
        checked += 1
    assert checked > len(intake)


class _Record:
    def __init__(self, value: bytes, offset: int) -> None:
        self.topic, self.partition, self.offset, self.key, self.value, self.headers = "t", 0, offset, b"", value, []


class _Deps:
    codec = CODEC


def test_the_projection_takes_each_handed_over_event_once_and_decodes_the_rest() -> None:
    values = [r.value for r in intake_records(CODEC, 3, 2, 1)]
    handed = {values[0]: {"handed": True}}
    decoded = DecodedEvents()
    decoded.put(handed.items())
    records = [_Record(v, i) for i, v in enumerate(values)]
    first = consumed(_Deps(), records, decoded)  # type: ignore[arg-type]
    assert first[0].event == {"handed": True}
    assert [r.event for r in first[1:]] == [CODEC.decode(v) for v in values[1:]]
    assert consumed(_Deps(), records[:1], decoded)[0].event == CODEC.decode(values[0])  # taken once
    assert len(decoded) == 0


def test_the_hand_over_is_bounded() -> None:
    decoded = DecodedEvents(limit=3)
    decoded.put((bytes([i]), {"i": i}) for i in range(5))
    assert len(decoded) == 3
    assert decoded.take([bytes([0]), bytes([4])]) == [None, {"i": 4}]
