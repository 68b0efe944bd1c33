"""Avro single-object encoding for OneStory events, with writer→reader schema resolution.

Every payload on the wire goes through this one boundary, so that a later change of encoding (per-child
encryption for crypto-shredding, or the Confluent wire format when a schema registry is configured) happens
in one place. Readers resolve any known writer schema (current or historical, from ``schemas/avro/history``)
to the current reader schema, which is what lets producers and consumers upgrade independently.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import expand_schema, fingerprint, load_schema, to_parsing_canonical_form

from hub.events.avro_reader import FALLBACK, compile_reader

MAGIC = b"\xc3\x01"
ENVELOPE = "onestory.Envelope"


def default_schema_dir() -> Path:
    """The repository's schemas/avro folder (the code ships beside it; see the Dockerfile)."""
    return Path(__file__).resolve().parents[2] / "schemas" / "avro"


class DecodeError(ValueError):
    """Bytes that are not a OneStory single-object encoded event (wrong magic, unknown schema, truncated)."""


def expanded_schema(schema_dir: Path, name: str = ENVELOPE) -> dict[str, Any]:
    """The named schema with every referenced type inlined: what history snapshots and fingerprints use."""
    parsed = load_schema(str(schema_dir / f"{name}.avsc"), _write_hint=False)
    expanded: dict[str, Any] = _define_once(expand_schema(parsed), set())
    return expanded


def _define_once(schema: Any, seen: set[str]) -> Any:
    """fastavro inlines a named type at every use; Avro allows one definition, later uses go by name."""
    if isinstance(schema, list):
        return [_define_once(s, seen) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") in ("record", "enum", "fixed") and "name" in schema:
        name = (
            schema["name"]
            if "." in schema["name"] or "namespace" not in schema
            else (f"{schema['namespace']}.{schema['name']}")
        )
        if name in seen:
            return name
        seen.add(name)
    out = dict(schema)
    if "fields" in out:
        out["fields"] = [{**f, "type": _define_once(f["type"], seen)} for f in out["fields"]]
    for key in ("items", "values"):
        if key in out:
            out[key] = _define_once(out[key], seen)
    return out


def schema_fingerprint(schema: dict[str, Any]) -> bytes:
    """CRC-64-AVRO fingerprint of the parsing canonical form; fastavro's hex is already in wire byte order."""
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(parse_schema(schema)), "CRC-64-AVRO"))


@dataclass(frozen=True)
class EventCodec:
    """Encodes with the current envelope schema; decodes anything written with a known version."""

    reader: Any
    reader_fingerprint: bytes
    writers: dict[bytes, Any]
    # Readers generated for the current schema, by fingerprint: reading it needs no resolution, and a reader
    # specialised to it is about twice as fast as fastavro's general one (tests/unit/test_event_codec.py
    # holds the two equal). Anything it cannot vouch for is read by fastavro as before.
    fast_readers: dict[bytes, Callable[[bytes, int], tuple[Any, int]]] = field(default_factory=dict)

    @classmethod
    def load(cls, schema_dir: Path | None = None) -> EventCodec:
        schema_dir = schema_dir or default_schema_dir()
        current = expanded_schema(schema_dir)
        reader = parse_schema(current)
        writers: dict[bytes, Any] = {}
        for snapshot in sorted((schema_dir / "history").glob("*.avsc")):
            old = json.loads(snapshot.read_text())
            writers[schema_fingerprint(old)] = parse_schema(old)
        current_fp = schema_fingerprint(current)
        writers[current_fp] = reader
        fast = compile_reader(reader)
        return cls(
            reader=reader,
            reader_fingerprint=current_fp,
            writers=writers,
            fast_readers={current_fp: fast} if fast else {},
        )

    def encode(self, event: dict[str, Any]) -> bytes:
        buffer = io.BytesIO()
        buffer.write(MAGIC)
        buffer.write(self.reader_fingerprint)
        schemaless_writer(buffer, self.reader, event)
        return buffer.getvalue()

    def decode(self, data: bytes) -> dict[str, Any]:
        if len(data) < 10 or data[:2] != MAGIC:
            raise DecodeError("not Avro single-object encoding (missing C3 01 marker)")
        fast = self.fast_readers.get(data[2:10])
        if fast is not None:
            try:
                record, end = fast(data, 10)
            except FALLBACK:
                pass  # fastavro reads it again below and says what is wrong
            else:
                if end <= len(data):  # past the end: truncated; fastavro gives the error
                    return cast(dict[str, Any], record)
        writer = self.writers.get(data[2:10])
        if writer is None:
            raise DecodeError(f"unknown writer schema fingerprint {data[2:10].hex()}")
        # No reader schema when the writer is current: fastavro then skips schema resolution (~10% faster).
        reader = None if writer is self.reader else self.reader
        try:
            record = cast(
                dict[str, Any],
                schemaless_reader(io.BytesIO(data[10:]), writer, reader, return_record_name=True),
            )
        except (EOFError, ValueError, IndexError) as exc:
            raise DecodeError(f"corrupt Avro body: {type(exc).__name__}") from exc
        return record
