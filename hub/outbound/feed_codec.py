"""Avro single-object encoding of outbound feed records (schemas/avro/onestory.out.FeedRecord.avsc).

The same wire format as the event codec (C3 01 + CRC-64-AVRO fingerprint + body), with its own history
snapshots (schemas/avro/history/onestory.out.FeedRecord.v*.avsc), so an agency decoding with an older
schema keeps working when fields are added.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from hub.events.codec import MAGIC, DecodeError, default_schema_dir, expanded_schema, schema_fingerprint

FEED_RECORD = "onestory.out.FeedRecord"


@dataclass(frozen=True)
class FeedCodec:
    reader: Any
    fingerprint: bytes
    writers: dict[bytes, Any]

    @classmethod
    def load(cls, schema_dir: Path | None = None) -> FeedCodec:
        schema_dir = schema_dir or default_schema_dir()
        current = expanded_schema(schema_dir, FEED_RECORD)
        reader = parse_schema(current)
        writers = {
            schema_fingerprint(json.loads(p.read_text())): parse_schema(json.loads(p.read_text()))
            for p in sorted((schema_dir / "history").glob(f"{FEED_RECORD}.v*.avsc"))
        }
        fp = schema_fingerprint(current)
        writers[fp] = reader
        return cls(reader, fp, writers)

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
            raise DecodeError("a feed record must decode to a record")
        return out
