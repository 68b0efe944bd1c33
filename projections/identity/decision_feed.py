"""Identity decisions relayed on `onestory.identity.v1` through the outbound outbox.

Every link, not-same and unmerge decision is queued in `outbound_outbox` in the transaction that records it,
so the topic never carries a decision that was rolled back and never misses one that committed; the
worker's outbox relay publishes it with the durable producer (acks=all) and headers naming the record id.
Records are Avro single-object encoded (schemas/avro/onestory.identity.Decision.avsc, snapshots in
history/) and carry ids only: the steward's free-text reason stays in `identity_decisions`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from sqlalchemy import Connection

from hub.db.feed_tables import outbound_outbox
from hub.db.upsert import insert_ignore
from hub.events.codec import MAGIC, DecodeError, default_schema_dir, expanded_schema, schema_fingerprint
from hub.kafka.topics import IDENTITY

DECISION = "onestory.identity.Decision"
_WIRE_KIND = {"link": "link", "not-same": "not_same", "unmerge": "unmerge"}  # Avro enum symbols have no '-'


@dataclass(frozen=True)
class DecisionCodec:
    reader: Any
    fingerprint: bytes
    writers: dict[bytes, Any]

    @classmethod
    def load(cls, schema_dir: Path | None = None) -> DecisionCodec:
        schema_dir = schema_dir or default_schema_dir()
        current = expanded_schema(schema_dir, DECISION)
        reader = parse_schema(current)
        writers = {
            schema_fingerprint(json.loads(p.read_text())): parse_schema(json.loads(p.read_text()))
            for p in sorted((schema_dir / "history").glob(f"{DECISION}.v*.avsc"))
        }
        fingerprint = schema_fingerprint(current)
        writers[fingerprint] = reader
        return cls(reader, fingerprint, writers)

    def encode(self, decision: dict[str, Any]) -> bytes:
        buffer = io.BytesIO(MAGIC + self.fingerprint)
        buffer.seek(0, io.SEEK_END)
        schemaless_writer(buffer, self.reader, decision)
        return buffer.getvalue()

    def decode(self, data: bytes) -> dict[str, Any]:
        if len(data) < 10 or data[:2] != MAGIC:
            raise DecodeError("not Avro single-object encoding (missing C3 01 marker)")
        writer = self.writers.get(data[2:10])
        if writer is None:
            raise DecodeError(f"unknown writer schema fingerprint {data[2:10].hex()}")
        out = schemaless_reader(io.BytesIO(data[10:]), writer, self.reader)
        if not isinstance(out, dict):
            raise DecodeError("an identity decision must decode to a record")
        return out


@cache
def bundled_codec() -> DecisionCodec:
    return DecisionCodec.load()


def decision_record(
    decision_id: str,
    kind: str,
    source: str,
    decided_by: str,
    organisation: str,
    decided_at: datetime,
    *,
    surviving: str | None,
    retired: str | None,
    merge_id: str | None,
    review_id: str | None,
) -> dict[str, Any]:
    return {
        "decision_id": decision_id,
        "kind": _WIRE_KIND[kind],
        "surviving_child_id": surviving,
        "retired_child_id": retired,
        "merge_id": merge_id,
        "review_id": review_id,
        "source": source,
        "decided_by": decided_by,
        "organisation": organisation,
        "decided_at": decided_at,
    }


def queue_decision(conn: Connection, record: dict[str, Any], now: datetime) -> None:
    """The outbox row that publishes one decision, keyed by the child that holds the records afterwards."""
    key = record["surviving_child_id"] or record["retired_child_id"] or record["decision_id"]
    row = {
        "record_id": record["decision_id"],
        "topic": IDENTITY,
        "key": key.encode(),
        "value": bundled_codec().encode(record),
        "created_at": now,
        "sent_at": None,
    }
    insert_ignore(conn, outbound_outbox, [row])
