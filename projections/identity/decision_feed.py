"""Identity decisions relayed on `onestory.identity.v1` through the outbound outbox.

Every link, not-same and unmerge decision is queued in `outbound_outbox` in the transaction that records it,
so the topic never carries a decision that was rolled back and never misses one that committed; the
worker's outbox relay publishes it with the durable producer (acks=all) and headers naming the record id.
Records are Avro single-object encoded (schemas/avro/onestory.identity.Decision.avsc, snapshots in
history/) and carry ids only: the steward's free-text reason stays in `identity_decisions`.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from hub.db.feed_tables import outbound_outbox
from hub.db.upsert import insert_ignore
from hub.events.record_codec import RecordCodec
from hub.kafka.topics import IDENTITY

DECISION = "onestory.identity.Decision"
_WIRE_KIND = {"link": "link", "not-same": "not_same", "unmerge": "unmerge"}  # Avro enum symbols have no '-'


class DecisionCodec(RecordCodec):
    @classmethod
    def load(cls, schema_dir: Path | None = None) -> DecisionCodec:
        return cls.named(DECISION, schema_dir)


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
