"""Publishing from connectors: canonical events to the intake topic, bad input to the dead-letter topic.

Both calls block until the broker has acknowledged (acks=all), so a connector only tells its sender
"accepted" once the event is durable.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime

from hub.events.codec import EventCodec
from hub.events.model import Envelope
from hub.kafka.producer import DurableProducer, OutRecord
from hub.kafka.topics import DEADLETTER, INTAKE
from hub.telemetry.metrics import count_events_in
from hub.telemetry.spans import publish_span

DEADLETTER_NAMESPACE = uuid.UUID("a3f4c1d2-7e58-4b96-8c0f-2d9e6b1a5c37")


def deadletter_id(body: bytes, reason: str) -> str:
    """The same bad input with the same reason is one dead letter, however often it is re-sent."""
    return str(uuid.uuid5(DEADLETTER_NAMESPACE, hashlib.sha256(body).hexdigest() + "|" + reason))


class Publisher:
    def __init__(self, producer: DurableProducer, codec: EventCodec) -> None:
        self._producer = producer
        self._codec = codec

    def publish(self, events: Sequence[Envelope], trace_headers: dict[str, str] | None = None) -> list[str]:
        with publish_span(INTAKE, len(events), parent=trace_headers) as carrier:
            headers = tuple((k, v.encode()) for k, v in carrier.items())
            records = [
                OutRecord(INTAKE, e["source"]["record_id"].encode(), self._codec.encode(dict(e)), headers)
                for e in events
            ]
            self._producer.send_all(records)
        count_events_in(events)
        return [e["event_id"] for e in events]

    def dead_letter(
        self, connector: str, phase: str, reason: str, body: bytes, content_type: str, received_at: datetime
    ) -> str:
        dl_id = deadletter_id(body, reason)
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
            self._producer.send_all([OutRecord(DEADLETTER, dl_id.encode(), body, traced)])
        return dl_id
