"""Publishing from connectors: canonical events to the intake topic, bad input to the dead-letter store.

`publish` returns only once the events are durable: committed to the intake journal in SQL (the embedded
broker, whose ack is not durability: hub.kafka.journal) or acknowledged by every in-sync replica of an
external Kafka cluster (acks=all). So a connector only tells its sender "accepted" once nothing can lose it.

Dead letters go straight to the SQL dead-letter store where the connector has a database, so a body the
broker would refuse (a 5 MB HL7 message) is still kept; without one they go to the dead-letter topic.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from connectors.errors import EventTooLarge
from hub.db.tables import deadletters
from hub.db.upsert import insert_ignore
from hub.db.write_lock import serial_if_sqlite
from hub.events.codec import EventCodec
from hub.events.model import Envelope
from hub.kafka.producer import DeliveryError, OutRecord
from hub.kafka.topics import DEADLETTER, INTAKE
from hub.telemetry.metrics import count_deadletters, count_events_in
from hub.telemetry.spans import publish_span, store_span

DEADLETTER_NAMESPACE = uuid.UUID("a3f4c1d2-7e58-4b96-8c0f-2d9e6b1a5c37")


class RecordSink(Protocol):
    """Where published records go: a DurableProducer, or the IntakeJournal in front of one."""

    def send_all(self, records: Sequence[OutRecord], timeout: float = ...) -> None: ...


def deadletter_id(body: bytes, reason: str) -> str:
    """The same bad input with the same reason is one dead letter, however often it is re-sent."""
    return str(uuid.uuid5(DEADLETTER_NAMESPACE, hashlib.sha256(body).hexdigest() + "|" + reason))


# librdkafka's and Kafka's default largest message is 1,000,000 bytes; keep room for key, headers and framing.
MAX_RECORD_BYTES = 900_000


class Publisher:
    def __init__(
        self,
        sink: RecordSink,
        codec: EventCodec,
        deadletter_store: Engine | None = None,
        max_record_bytes: int = MAX_RECORD_BYTES,
    ) -> None:
        self._sink = sink
        self._codec = codec
        self._store = deadletter_store
        self._max_record = max_record_bytes

    def publish(self, events: Sequence[Envelope], trace_headers: dict[str, str] | None = None) -> list[str]:
        """Durable when it returns; EventTooLarge (nothing published) when an event cannot be one broker record."""
        with publish_span(INTAKE, len(events), parent=trace_headers) as carrier:
            headers = tuple((k, v.encode()) for k, v in carrier.items())
            records = [
                OutRecord(
                    INTAKE, e["source"]["record_id"].encode(), self._codec.encode(dict(e)), headers, e["event_id"]
                )
                for e in events
            ]
            for record in records:
                if len(record.value) > self._max_record:
                    # Refused before anything is accepted: journalled, it could never be relayed.
                    raise EventTooLarge(
                        f"an event made from this input is {len(record.value):,} bytes; "
                        f"a broker record may be at most {self._max_record:,}"
                    )
            self._sink.send_all(records)
        count_events_in(events)
        return [e["event_id"] for e in events]

    def dead_letter(
        self, connector: str, phase: str, reason: str, body: bytes, content_type: str, received_at: datetime
    ) -> str:
        """Keep a rejected input with its reason; raise DeliveryError if it could not be kept."""
        dl_id = deadletter_id(body, reason)
        if self._store is not None:
            row = {
                "id": dl_id,
                "received_at": received_at,
                "connector": connector,
                "phase": phase,
                "reason": reason,
                "content_type": content_type,
                "body": body,
                "status": "held",
                "replayed_at": None,
                "replay_result": None,
            }
            try:
                with store_span("deadletters", 1), serial_if_sqlite(self._store), self._store.begin() as conn:
                    insert_ignore(conn, deadletters, [row])
            except SQLAlchemyError as exc:
                raise DeliveryError(f"the dead-letter store could not keep the input: {type(exc).__name__}") from exc
            count_deadletters([row])
            return dl_id
        headers = (
            ("onestory-deadletter-id", dl_id.encode()),
            ("onestory-connector", connector.encode()),
            ("onestory-phase", phase.encode()),
            ("onestory-reason", reason.encode()),
            ("onestory-content-type", content_type.encode()),
            ("onestory-received-at", received_at.isoformat().encode()),
        )
        with publish_span(DEADLETTER, 1) as carrier:
            traced = headers + tuple((k, v.encode()) for k, v in carrier.items())
            self._sink.send_all([OutRecord(DEADLETTER, dl_id.encode(), body, traced)])
        return dl_id
