"""hl7apy's structural verdict on an HL7 v2 message, remembered by the message's shape. Pure in effect.

hl7apy is the parser of record: `check(text)` raises exactly what `parse_message(text, find_groups=False,
validation_level=TOLERANT)` raises, and accepts exactly what it accepts. Building hl7apy's element tree costs
about 6 ms a message, so a verdict of *accepted* is remembered under keys from which hl7apy's decision follows:

- the message: hl7apy's own `get_message_info` (encoding characters, message structure, version), which is all
  the `Message` it builds depends on, with the segment names in order (what `Message.add` judges);
- each segment (with `find_groups=False` hl7apy parses every segment on its own, from its text alone): the
  version, the encoding characters, the segment name and the segment's *shape* — its text with every run of
  characters between delimiters replaced by `x` if it holds anything but whitespace (runs of whitespace only
  are kept as they are, and empty runs stay empty).

Why the shape is enough: in TOLERANT mode hl7apy decides by names, delimiters and which pieces are empty after
`str.strip()`; a leaf's text reaches only its base datatype's factory, which in TOLERANT mode turns any value it
cannot read into ST and never raises (`tests/unit/hl7v2/test_structure_cache.py` holds hl7apy to that for every
base datatype of every supported version, so an upgrade that breaks it fails the tests, not the intake).

A message of a known composition with segments of new shapes has only those segments parsed by hl7apy (as
`parse_message` parses each segment, on its own); any other message is checked by hl7apy in full. Only
acceptances are remembered, and any failure is answered by hl7apy in full, so a rejection always carries
hl7apy's own words. The memory is bounded (`MAX_SHAPES`) and cleared when full.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from typing import NamedTuple

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import get_message_info, parse_message, parse_segment

from connectors.errors import ParseError

MAX_SHAPES = 20_000
"""Remembered segment shapes (and, separately, message compositions) before the memory starts again."""

_SEGMENTS: set[tuple[str, ...]] = set()
_MESSAGES: set[tuple[object, ...]] = set()
_ANSWERED = [0, 0, 0]  # from memory, by hl7apy per new segment, by hl7apy in full (for the benchmark's report)


class _Keys(NamedTuple):
    message: tuple[object, ...]
    segments: list[tuple[str, ...]]
    texts: list[str]  # each segment as hl7apy's parse_segments hands it to parse_segment
    version: str | None
    encoding: dict[str, str]


def check_in_full(text: str) -> None:
    """hl7apy's structural parse of the whole message, every time: the reference the remembered path equals."""
    try:
        message = parse_message(text, find_groups=False, validation_level=VALIDATION_LEVEL.TOLERANT)
    except HL7apyException as exc:
        raise ParseError(f"structurally invalid: {type(exc).__name__}: {str(exc)[:160]}") from exc
    if not message.children:
        raise ParseError("no segments after MSH")


def check(text: str) -> bool:
    """As `check_in_full`; True when the verdict came from memory (no hl7apy element tree was built).

    A message of a remembered composition with segments of new shapes has just those segments parsed by
    hl7apy's `parse_segment`, as `parse_message` would parse them; if one fails, the whole message is parsed
    in full so that the rejection is hl7apy's own, for the first bad segment in order."""
    keys = _keys(text)
    if keys is not None and keys.message in _MESSAGES:
        new = [(key, seg) for key, seg in zip(keys.segments, keys.texts, strict=True) if key not in _SEGMENTS]
        if not new:
            _ANSWERED[0] += 1
            return True
        if _segments_parse([seg for _, seg in new], keys):
            _ANSWERED[1] += 1
            _remember(keys.message, [key for key, _ in new])
            return False
    _ANSWERED[2] += 1
    check_in_full(text)
    if keys is not None:
        _remember(keys.message, keys.segments)
    return False


def _segments_parse(texts: list[str], keys: _Keys) -> bool:
    """hl7apy parses these segments as `parse_segments(find_groups=False)` does; False if any fails."""
    try:
        for text in texts:
            parse_segment(text, keys.version, keys.encoding, VALIDATION_LEVEL.TOLERANT)
    except Exception:  # noqa: BLE001 - the full parse then raises what hl7apy raises, where it raises it
        return False
    return True


def forget() -> None:
    """Drop every remembered shape and the counts (tests and benchmarks start cold with it)."""
    _SEGMENTS.clear()
    _MESSAGES.clear()
    _ANSWERED[:] = [0, 0, 0]


def remembered() -> tuple[int, int]:
    """How many segment shapes and message compositions are remembered."""
    return len(_SEGMENTS), len(_MESSAGES)


def answered() -> tuple[int, int, int]:
    """How many `check` calls since `forget` were answered from memory, by hl7apy parsing only the segments of
    new shapes, and by hl7apy in full."""
    return _ANSWERED[0], _ANSWERED[1], _ANSWERED[2]


def _remember(message_key: tuple[object, ...], segment_keys: list[tuple[str, ...]]) -> None:
    if len(_SEGMENTS) + len(segment_keys) > MAX_SHAPES:
        _SEGMENTS.clear()
    if len(_MESSAGES) >= MAX_SHAPES:
        _MESSAGES.clear()
    _SEGMENTS.update(segment_keys)
    _MESSAGES.add(message_key)


def _keys(text: str) -> _Keys | None:
    """The message key and one key per segment, split exactly as hl7apy splits; None if hl7apy's own MSH
    reading fails (the full check then says why)."""
    try:
        encoding, structure, version = get_message_info(text.lstrip())
    except HL7apyException:
        return None
    enc = tuple(sorted(encoding.items()))
    delimiters = "".join(encoding[k] for k in ("FIELD", "COMPONENT", "REPETITION", "SUBCOMPONENT"))
    if not all(c in string.punctuation for c in delimiters):
        return None  # the shape's "x" must not be mistakable for a delimiter
    runs = _runs(delimiters)
    context = f"{version}\x00{delimiters}{encoding.get('ESCAPE', '')}{encoding.get('TRUNCATION', '')}"
    names: list[str] = []
    segment_keys: list[tuple[str, ...]] = []
    texts: list[str] = []
    for piece in text.lstrip().split(encoding["SEGMENT"]):
        if not piece:
            continue
        segment = piece.strip()
        name = segment[:3]
        body = segment[3:] if name == "MSH" else segment[4:]
        names.append(name)
        texts.append(segment)
        segment_keys.append((context, name, runs.sub("x", body)))
    return _Keys((enc, structure, version, tuple(names)), segment_keys, texts, version, encoding)


@lru_cache(maxsize=64)
def _runs(delimiters: str) -> re.Pattern[str]:
    """A run of non-delimiter characters holding at least one that is not whitespace."""
    other = "[^" + "".join(re.escape(c) for c in delimiters) + "]"
    return re.compile(f"{other}*[^{''.join(re.escape(c) for c in delimiters)}\\s]{other}*")
