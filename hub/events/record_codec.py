"""Avro single-object encoding for a named record with its own history snapshots: outbound feed records,
identity decisions. The wire format is the event codec's (C3 01 + CRC-64-AVRO fingerprint + body), so a
consumer decoding with an older snapshot keeps working when fields are added.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from hub.events.codec import MAGIC, DecodeError, default_schema_dir, expanded_schema, schema_fingerprint


@dataclass(frozen=True)
class RecordCodec:
    name: str
    reader: Any
    fingerprint: bytes
    writers: dict[bytes, Any]

    @classmethod
    def named(cls, name: str, schema_dir: Path | None = None) -> Self:
        """The current schema of `name`, and every released snapshot `history/<name>.v*.avsc` as a writer."""
        schema_dir = schema_dir or default_schema_dir()
        current = expanded_schema(schema_dir, name)
        reader = parse_schema(current)
        writers = {
            schema_fingerprint(json.loads(p.read_text())): parse_schema(json.loads(p.read_text()))
            for p in sorted((schema_dir / "history").glob(f"{name}.v*.avsc"))
        }
        fingerprint = schema_fingerprint(current)
        writers[fingerprint] = reader
        return cls(name, reader, fingerprint, writers)

    def encode(self, record: dict[str, Any]) -> bytes:
        buffer = io.BytesIO()
        buffer.write(MAGIC + self.fingerprint)
        schemaless_writer(buffer, self.reader, record)
        return buffer.getvalue()

    def decode(self, data: bytes) -> dict[str, Any]:
        if len(data) < 10 or data[:2] != MAGIC:
            raise DecodeError("not Avro single-object encoding (missing C3 01 marker)")
        writer = self.writers.get(data[2:10])
        if writer is None:
            raise DecodeError(f"unknown writer schema fingerprint {data[2:10].hex()}")
        out = schemaless_reader(io.BytesIO(data[10:]), writer, self.reader)
        if not isinstance(out, dict):
            raise DecodeError(f"a {self.name} must decode to a record")
        return out
