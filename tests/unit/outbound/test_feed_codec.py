"""Feed records round-trip through Avro single-object encoding; released schema versions stay readable."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from hub.events.codec import default_schema_dir, expanded_schema
from hub.outbound.config import OutboundSettings
from hub.outbound.dispatch import feed_record, out_topic
from hub.outbound.feed_codec import FEED_RECORD, FeedCodec
from hub.outbound.relay import backoff

SNAPSHOTS = sorted((default_schema_dir() / "history").glob(f"{FEED_RECORD}.v*.avsc"))


def test_round_trip() -> None:
    codec = FeedCodec.load()
    at = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    record = feed_record("disclose", "RX4", "child-1", "e1", "summary", "r1", at, "sha", None, {"summary": "s"})
    data = codec.encode(record)
    assert data[:2] == b"\xc3\x01"
    back = codec.decode(data)
    assert back["op"] == "disclose" and back["sent_at"] == at and json.loads(back["content"]) == {"summary": "s"}


def test_the_current_schema_is_snapshotted_and_reads_every_snapshot() -> None:
    current = expanded_schema(default_schema_dir(), FEED_RECORD)
    assert SNAPSHOTS and json.loads(SNAPSHOTS[-1].read_text()) == current
    for snap in SNAPSHOTS:
        result = ReaderWriterCompatibilityChecker().get_compatibility(
            avro.schema.parse(json.dumps(current)), avro.schema.parse(snap.read_text())
        )
        assert result.compatibility is SchemaCompatibilityType.compatible, snap.name


def test_topic_names_and_backoff() -> None:
    assert out_topic("RX4") == "onestory.out.RX4.v1"
    s = OutboundSettings(retry_base_seconds=1, retry_max_seconds=10)
    assert [backoff(s, n) for n in (1, 2, 3, 4, 5, 6)] == [1, 2, 4, 8, 10, 10]
