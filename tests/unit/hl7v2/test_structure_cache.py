"""The remembered structural check (connectors/hl7v2/structure.py) gives exactly what hl7apy in full gives.

Old path: `parse(raw, remembered=False)` builds hl7apy's element tree for every message, as before the memory.
New path: `parse(raw)`, which reuses an acceptance for a message of the same shape. Every real sample, its
variants with different values in the same shape (the case the memory answers without hl7apy), mutated and
random bytes go through both; the outcomes (message view, events, or error with its reason and location) must
be identical. The view's field reads are held to the view as it was before it split each field once.
"""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime
from typing import Any

import pytest
from hl7apy import SUPPORTED_LIBRARIES, load_library
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.factories import datatype_factory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.errors import ConnectorError
from connectors.hl7v2 import structure
from connectors.hl7v2.map import Hl7Mapping, map_message
from connectors.hl7v2.parse import SUPPORTED_VERSIONS, Hl7Message, Segment, parse, unescape
from tests.conftest import hl7_samples

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
MAPPING = Hl7Mapping.bundled()
SAMPLES = {p.name: p.read_bytes() for p in hl7_samples()}
ACCEPTED = []
for _raw in SAMPLES.values():
    try:
        parse(_raw, remembered=False)
        ACCEPTED.append(_raw)
    except ConnectorError:
        pass


def _outcome(raw: bytes, remembered: bool) -> tuple[str, Any]:
    """What the intake would see: the parsed view, or the error's type, reason and location."""
    try:
        return "parsed", parse(raw, remembered=remembered)
    except ConnectorError as exc:
        return "error", (type(exc).__name__, exc.reason, exc.location)
    except Exception as exc:  # noqa: BLE001 - an unexpected error must be the same unexpected error
        return "unexpected", (type(exc).__name__, str(exc))


def _events(message: Hl7Message) -> Any:
    try:
        return map_message(message, MAPPING, NOW)
    except ConnectorError as exc:
        return (type(exc).__name__, exc.reason, exc.location)


def _same(raw: bytes) -> None:
    old = _outcome(raw, remembered=False)
    for _ in range(2):  # the first may teach the memory, the second is answered from it
        new = _outcome(raw, remembered=True)
        assert new == old
        if old[0] == "parsed":
            assert _events(new[1]) == _events(old[1])
            _same_reads(new[1], old[1])


# --- the view's reads, against the view as it was (every read split and unescaped the field again) -----------


def _old_repetitions(seg: Segment, number: int) -> list[list[str]]:
    d = seg.delimiters
    return [[unescape(c, d) for c in rep.split(d.component)] for rep in seg.fields.get(number, ()) if rep.strip()]


def _old_value(seg: Segment, number: int, component: int = 1, repetition: int = 0) -> str | None:
    reps = _old_repetitions(seg, number)
    if repetition >= len(reps) or component > len(reps[repetition]):
        return None
    text = reps[repetition][component - 1].split(seg.delimiters.subcomponent)[0].strip()
    return text if text and text != '""' else None


def _same_reads(new: Hl7Message, old: Hl7Message) -> None:
    for name in {s.name for s in old.segments} | {"ZZZ"}:
        assert new.first(name) == old.first(name)
        assert new.all(name) == old.all(name)
    for seg in new.segments:
        for number in range(0, max(seg.fields, default=0) + 2):
            reps = _old_repetitions(seg, number)
            assert seg.repetitions(number) == reps
            for repetition in range(len(reps) + 1):
                width = max((len(r) for r in reps), default=0)
                for component in range(0, width + 2):
                    assert seg.value(number, component, repetition) == _old_value(seg, number, component, repetition)


# --- the premise: a leaf's text never decides hl7apy's TOLERANT verdict ---------------------------------------

EDGE_VALUES = [
    "20240101",
    "202401011200+0100",
    "202401011200-1300",
    "202401011200+1500",
    "20240101120000.12345",
    "20240101120000.1",
    "1200+9999",
    "120000.0000",
    "99999999",
    "0000",
    "2024-01-01",
    "NaN",
    "-Infinity",
    "1e999999999",
    "9" * 5000,
    "٠١٢٣٤٥٦٧",
    "+0100",
    "\\T\\",
    " ",
    "\t",
    '""',
]


@pytest.mark.parametrize("version", [v for v in SUPPORTED_VERSIONS if v in SUPPORTED_LIBRARIES])
def test_base_datatype_factories_never_raise_in_tolerant_mode(version: str) -> None:
    """structure.py's premise: if this fails (an hl7apy upgrade), shapes are not enough and the memory is wrong."""
    rng = random.Random(version)
    alphabet = string.digits * 4 + "+-. .eEX" + string.ascii_letters + "\u00e9\u2019\u0660"
    values = EDGE_VALUES + ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 26))) for _ in range(400)]
    for datatype in sorted(load_library(version).get_base_datatypes()):
        for value in values:
            datatype_factory(datatype, value, version, VALIDATION_LEVEL.TOLERANT)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(load_library("2.5").get_base_datatypes())), st.text(min_size=1, max_size=30))
def test_base_datatype_factories_take_any_text(datatype: str, value: str) -> None:
    datatype_factory(datatype, value, "2.5", VALIDATION_LEVEL.TOLERANT)


# --- old path against new path ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_is_handled_exactly_as_by_hl7apy_in_full(name: str) -> None:
    structure.forget()
    _same(SAMPLES[name])
    for separator in (b"\n", b"\r\n"):
        _same(SAMPLES[name].replace(b"\r", separator))


def test_a_remembered_shape_does_not_let_a_bad_segment_through() -> None:
    raw = SAMPLES["pipehat_ADT_A04_v2.4.hl7"]
    structure.forget()
    _same(raw)
    assert structure.remembered() != (0, 0)
    _same(raw + b"\rXYZ|1|2")  # a segment hl7apy does not know: rejected in its words
    _same(raw.replace(b"\rPID|", b"\rPIX|", 1))
    _same(raw + b"\rZXY|1|2")  # a Z-segment it takes
    _same(raw.replace(b"MSH|^~\\&|", b"MSH|^~\\&&|", 1))


def test_a_new_segment_shape_in_a_known_message_is_parsed_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = SAMPLES["pipehat_ADT_A04_v2.4.hl7"]
    structure.forget()
    _same(raw)
    assert structure.answered() == (1, 0, 1)
    variant = raw.replace(b"\rPID|", b"\rPID|1^2&3~4|", 1)  # PID of a new shape, same segments in order
    _same(variant)
    assert structure.answered() == (2, 1, 1)
    # a segment hl7apy fails on its own is judged by hl7apy in full, so the answer is the full parse's
    structure.forget()
    _same(raw)

    def fails(*_: object) -> None:
        raise ValueError("parse_segment failed")

    monkeypatch.setattr(structure, "parse_segment", fails)
    _same(variant)
    assert structure.answered() == (2, 0, 2)


@st.composite
def same_shape_variant(draw: Any) -> bytes:
    """A sample with characters between delimiters replaced by others: hl7apy's verdict must not change."""
    raw = draw(st.sampled_from(ACCEPTED))
    text = raw.decode("utf-8-sig", errors="replace")
    keep = set("|^~\\&\r\n") | {text[3]} | set(text[4:8])
    chars = list(text)
    positions = [i for i, ch in enumerate(chars) if ch not in keep and i > 8]
    fill = st.sampled_from(list("0123456789+-. ZAza\u00e9\u2019\t") + ["\u0660", "1e9"])
    for pos in draw(st.lists(st.sampled_from(positions), max_size=25)):
        chars[pos] = draw(fill)
    return "".join(chars).encode("utf-8")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(same_shape_variant())
def test_same_shape_variants_match_hl7apy_in_full(raw: bytes) -> None:
    _same(raw)


@st.composite
def mutated_sample(draw: Any) -> bytes:
    raw = bytearray(draw(st.sampled_from(list(SAMPLES.values()))))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "delete", "insert"]))
        pos = draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "flip" and raw:
            raw[pos] = draw(st.sampled_from(list(b"|^~\\&\r\n x0AZ\x00\xff")))
        elif op == "delete" and raw:
            del raw[pos : pos + draw(st.integers(1, 40))]
        else:
            raw[pos:pos] = draw(st.binary(min_size=1, max_size=20))
    return bytes(raw)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_sample())
def test_mutated_samples_match_hl7apy_in_full(raw: bytes) -> None:
    _same(raw)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_match_hl7apy_in_full(raw: bytes) -> None:
    _same(b"MSH|^~\\&|A|B|C|D|20260101||ADT^A01|1|P|2.4\r" + raw)
    _same(raw)


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(structure, "MAX_SHAPES", 3)
    structure.forget()
    for raw in ACCEPTED[:6]:
        _same(raw)
        segments, messages = structure.remembered()
        assert messages <= 3 and segments <= max(3, raw.count(b"\r") + 1)
