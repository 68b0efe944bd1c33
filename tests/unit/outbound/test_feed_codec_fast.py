"""The flat Avro writer (`hub.events.record_codec.flat_writer`) writes exactly what fastavro writes.

Feed records and identity decisions are encoded by the flat writer when it can; whatever it cannot write
exactly goes to fastavro. Either way `encode` must give fastavro's bytes, or fastavro's error.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from fastavro import schemaless_writer
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.events.codec import MAGIC
from hub.events.record_codec import RecordCodec
from hub.outbound.feed_codec import FeedCodec

FEEDS = FeedCodec.load()
DECISIONS = RecordCodec.named("onestory.identity.Decision")


def _fastavro(codec: RecordCodec, record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    buffer.write(MAGIC + codec.fingerprint)
    schemaless_writer(buffer, codec.reader, record)
    return buffer.getvalue()


def _outcome(write: Any, record: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", write(record)
    except Exception as exc:  # noqa: BLE001 - the error type is what is compared
        return "error", type(exc)


zones = st.one_of(
    st.just(UTC),
    st.integers(-23 * 60, 23 * 60).map(lambda m: timezone(timedelta(minutes=m))),
)
aware = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=zones)
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=100)
long_text = st.text(st.characters(exclude_categories=["Cs"]), min_size=60, max_size=5_000)
nullable = st.one_of(st.none(), text, long_text)
# What the flat writer must leave to fastavro: other types, naive times, ints, lone surrogates.
odd = st.one_of(
    st.none(),
    st.integers(),
    st.integers(-(2**63), 2**63 - 1),
    st.binary(max_size=8),
    st.floats(allow_nan=False),
    st.booleans(),
    st.datetimes(),
    st.text(max_size=20).map(lambda t: t + "\ud800"),
)


def _records(fields: dict[str, Any]) -> Any:
    """Valid records, and valid records with one field dropped or given an odd value."""

    def spoil(record: dict[str, Any], data: Any) -> dict[str, Any]:
        how = data.draw(st.sampled_from(["keep", "keep", "drop", "odd"]))
        if how == "keep":
            return record
        name = data.draw(st.sampled_from(sorted(record)))
        if how == "drop":
            return {k: v for k, v in record.items() if k != name}
        return record | {name: data.draw(odd)}

    return st.builds(spoil, st.fixed_dictionaries(fields), st.data())


feed_records = _records(
    {
        "record_id": text,
        "op": st.sampled_from(["disclose", "retract", "alert"]),
        "organisation": text,
        "child_id": text,
        "entry_id": nullable,
        "level": text,
        "sent_at": aware,
        "policy_version": nullable,
        "reason": nullable,
        "content": nullable,
    }
)
decisions = _records(
    {
        "decision_id": text,
        "kind": st.sampled_from(["link", "not_same", "unmerge"]),
        "surviving_child_id": nullable,
        "retired_child_id": nullable,
        "merge_id": nullable,
        "review_id": nullable,
        "source": text,
        "decided_by": text,
        "organisation": text,
        "decided_at": aware,
    }
)


def test_both_schemas_get_the_flat_writer() -> None:
    assert FEEDS.fast is not None and DECISIONS.fast is not None


@settings(max_examples=600)
@given(feed_records)
def test_feed_records_encode_as_fastavro_does(record: dict[str, Any]) -> None:
    assert _outcome(FEEDS.encode, record) == _outcome(lambda r: _fastavro(FEEDS, r), record)


@settings(max_examples=300)
@given(decisions)
def test_identity_decisions_encode_as_fastavro_does(record: dict[str, Any]) -> None:
    assert _outcome(DECISIONS.encode, record) == _outcome(lambda r: _fastavro(DECISIONS, r), record)


@given(aware, aware)
def test_a_remembered_timestamp_is_only_reused_for_the_same_instant(first: datetime, second: datetime) -> None:
    base = {
        "record_id": "r",
        "op": "disclose",
        "organisation": "RX4",
        "child_id": "c",
        "entry_id": None,
        "level": "full",
        "policy_version": None,
        "reason": None,
        "content": None,
    }
    for moment in (first, second, first):
        record = base | {"sent_at": moment}
        assert FEEDS.encode(record) == _fastavro(FEEDS, record)
        assert FEEDS.decode(FEEDS.encode(record))["sent_at"] == moment
