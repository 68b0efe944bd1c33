"""An in-memory stand-in for connectors.publisher.Publisher, for pure tests of the intake decision logic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from connectors.publisher import deadletter_id
from hub.events.codec import EventCodec
from hub.events.model import Envelope
from hub.kafka.producer import DeliveryError


@dataclass
class MemoryPublisher:
    codec: EventCodec = field(default_factory=EventCodec.load)
    events: list[Envelope] = field(default_factory=list)
    dead: list[dict[str, object]] = field(default_factory=list)
    fail: bool = False

    def publish(self, events: Sequence[Envelope], trace_headers: dict[str, str] | None = None) -> list[str]:
        if self.fail:
            raise DeliveryError("broker down (test)")
        for e in events:
            self.codec.encode(dict(e))  # every published event must be encodable
        self.events.extend(events)
        return [e["event_id"] for e in events]

    def dead_letter(
        self, connector: str, phase: str, reason: str, body: bytes, content_type: str, received_at: datetime
    ) -> str:
        if self.fail:
            raise DeliveryError("broker down (test)")
        dl_id = deadletter_id(body, reason)
        self.dead.append(
            {
                "id": dl_id,
                "connector": connector,
                "phase": phase,
                "reason": reason,
                "body": body,
                "content_type": content_type,
            }
        )
        return dl_id
