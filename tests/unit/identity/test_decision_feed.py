"""The identity decision record: Avro round trip, wire kinds, and the snapshot the decoder keeps."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hub.events.codec import DecodeError, default_schema_dir, expanded_schema
from projections.identity.decision_feed import DECISION, bundled_codec, decision_record


def test_a_decision_round_trips_with_ids_only() -> None:
    now = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
    record = decision_record(
        "d-1", "not-same", "steward", "steward-1", "990", now, surviving="a", retired="b", merge_id=None, review_id="r"
    )
    assert record["kind"] == "not_same"
    assert bundled_codec().decode(bundled_codec().encode(record)) == record
    with pytest.raises(DecodeError):
        bundled_codec().decode(b"\xc3\x01" + b"\x00" * 8 + b"x")


def test_the_current_schema_is_snapshotted() -> None:
    snapshot = default_schema_dir() / "history" / f"{DECISION}.v1.avsc"
    assert json.loads(snapshot.read_text()) == expanded_schema(default_schema_dir(), DECISION)
