"""A feed record's content, written field by field from the stored rows, is exactly the shaped entry's JSON.

The outbound feeds used to shape each entry (`hub.disclosure.decide.disclose`, after decoding its JSON with
`json.loads`) and encode it (`json.dumps(sort_keys=True, default=str)`). They now write the JSON directly
(`hub.outbound.dispatch.content_json`), from the entry's stored JSON texts with their encodings remembered
per batch (`hub.outbound.feed_inputs.content_of`), decoding with orjson where it agrees with json
(`hub.outbound.feed_inputs.loads`). These properties hold the new path to the old one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from consent_engine import Decision, Level
from consent_engine.model import Contact
from hub.disclosure.decide import disclose
from hub.outbound.dispatch import content_json, encode_content
from hub.outbound.feed_inputs import RAW, content_of, full_entry, loads

# JSON values as a stored entry may hold them: any text (non-ASCII, controls, quotes), any integer (some
# beyond 64 bits), floats (with exponents and negative zero), nesting.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
texts = st.one_of(st.text(), st.sampled_from(["RX4", "100001", "thrive", "é ü ☃ 😀", 'a "quoted", b: c', "\x7f\x00"]))
maybe_texts = st.one_of(st.none(), texts)
zones = st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))])
levels = st.sampled_from(list(Level))
contacts = st.one_of(st.none(), st.builds(Contact, texts, texts, texts))


def _decision(level: Level, contact: Contact | None) -> Decision:
    return Decision(level, "consent:C1" if level is not Level.NONE else None, "sha", (), contact)


def _dumps(value: Any, how: str) -> str:
    """A stored JSON text as the hub's writers leave it: orjson (the engine's serializer) or json."""
    if how == "orjson":
        try:
            return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
        except orjson.JSONEncodeError:
            pass
    return json.dumps(value)


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    """A row as `hub.outbound.feed_inputs.load_inputs` reads it: JSON columns as their stored text."""
    how = draw(st.sampled_from(["orjson", "json"]))
    row: dict[str, Any] = {
        "entry_id": draw(texts),
        "child_id": draw(texts),
        "occurred_at": draw(st.datetimes(timezones=zones)).astimezone(UTC),
        "kind": draw(maybe_texts),
        "category": draw(maybe_texts),
        "source_system": draw(maybe_texts),
        "source_org": draw(maybe_texts),
        "summary": draw(st.one_of(maybe_texts, json_values)),
    }
    for raw in RAW.values():
        row[raw] = _dumps(draw(json_values), how)
    for name in ("sensitivity_labels", "sharing_basis"):  # decoded on reading, as the column type does
        row[name] = orjson.loads(row[RAW[name]])
    return row


def _old(row: dict[str, Any], decision: Decision) -> str:
    """What the feeds wrote before: the shaped entry, with its JSON decoded by json, encoded by json."""
    entry = dict(row)
    for name in ("correlation_ids", "detail"):
        entry[name] = json.loads(entry[RAW[name]])
    return json.dumps(disclose(entry if decision.level is Level.FULL else row, decision), sort_keys=True, default=str)


@settings(max_examples=500)
@given(json_values, st.sampled_from(["orjson", "json"]))
def test_loads_reads_what_json_reads(value: Any, how: str) -> None:
    text = _dumps(value, how)
    assert repr(loads(text)) == repr(json.loads(text))


@given(st.sampled_from(["NaN", "-Infinity", '"\\ud800"', "1e400", "[18446744073709551616]", "-9223372036854775809"]))
def test_loads_leaves_what_orjson_reads_otherwise_to_json(text: str) -> None:
    assert repr(loads(text)) == repr(json.loads(text))


@settings(max_examples=500)
@given(rows(), levels, contacts)
def test_content_json_is_the_shaped_entry_encoded(row: dict[str, Any], level: Level, contact: Contact | None) -> None:
    decision = _decision(level, contact)
    entry = full_entry(dict(row))
    assert content_json(entry, decision) == encode_content(disclose(entry, decision))


@settings(max_examples=300)
@given(st.lists(st.tuples(rows(), levels, contacts), min_size=1, max_size=6), st.data())
def test_content_of_is_what_the_feeds_wrote(cases: list[tuple[Any, ...]], data: st.DataObject) -> None:
    fragments: dict[tuple[str, str], str] = {}
    # Rows of a batch share JSON texts (sharing bases, labels): the remembered encodings must still fit.
    shared = cases[0][0]
    for row, level, contact in cases:
        for raw in RAW.values():
            if data.draw(st.booleans()):
                row[raw] = shared[raw]
        for name in ("sensitivity_labels", "sharing_basis"):
            row[name] = orjson.loads(row[RAW[name]])
        if data.draw(st.booleans()):
            full_entry(row)  # a subscription may have decoded it already
        decision = _decision(level, contact)
        assert content_of(row, decision, fragments) == _old(row, decision)


def test_a_full_disclosure_is_written_as_before() -> None:
    row = {
        "entry_id": "e1",
        "child_id": "c1",
        "occurred_at": datetime(2025, 11, 5, 8, tzinfo=UTC),
        "kind": "thrive.agreed",
        "category": "thrive",
        "source_system": "bench",
        "source_org": "RX4",
        "summary": "thrive agreed",
        "sensitivity_labels_json": "[]",
        "sharing_basis_json": '{"kind":"consent","reference":null}',
        "correlation_ids_json": '{"referral":"R-1"}',
        "detail_json": '{"type":"Thrive","agreed_by":["é"],"score":1.5e-07,"n":12345678901234567890123}',
        "sensitivity_labels": [],
        "sharing_basis": {"kind": "consent", "reference": None},
    }
    decision = _decision(Level.FULL, None)
    assert content_of(row, decision, {}) == _old(row, decision)
    assert '"score": 1.5e-07' in _old(row, decision) and "12345678901234567890123" in _old(row, decision)
