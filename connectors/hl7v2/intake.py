"""The HL7 v2 intake decision: one raw message in, one ACK out, the events published or the input kept.

Typed errors decide the outcome: ParseError → AR, a sender the organisation directory does not know (MSH-4)
→ AR, MappingError → AE, all dead-lettered with their reason; a delivery failure → AE asking the sender to
retry (nothing was accepted, so nothing is dead-lettered). A known sender's events carry the organisation code
and type the directory gives it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from connectors.errors import ConnectorError, MappingError, ParseError
from connectors.hl7v2.ack import ACCEPT, ERROR, REJECT, build_ack
from connectors.hl7v2.map import Hl7Mapping, map_message
from connectors.hl7v2.parse import Header, normalise, parse, read_header
from connectors.hl7v2.senders import UnknownSenderError, sender
from connectors.publisher import Publisher
from consent_engine.directory import Directory
from hub.kafka.producer import DeliveryError

log = logging.getLogger(__name__)
CONTENT_TYPE = "x-application/hl7-v2+er7"


@dataclass(frozen=True)
class IntakeResult:
    code: str
    ack: bytes
    event_ids: tuple[str, ...] = ()
    reason: str | None = None


def _safe_header(raw: bytes) -> Header | None:
    try:
        return read_header(normalise(raw))
    except ParseError:
        return None


class Hl7Intake:
    def __init__(
        self,
        publisher: Publisher,
        mapping: Hl7Mapping,
        directory: Directory,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._publisher = publisher
        self._mapping = mapping
        self._directory = directory
        self._clock = clock
        self._ack_seq = 0

    def _control_id(self) -> str:
        self._ack_seq += 1
        return f"OS{self._clock().strftime('%Y%m%d%H%M%S')}{self._ack_seq:06d}"

    def handle(self, raw: bytes) -> IntakeResult:
        now = self._clock()
        header = _safe_header(raw)
        try:
            message = parse(raw)
            org = sender(message.header, self._directory)
            events = map_message(message, self._mapping, now, organisation=org.code, organisation_type=org.type)
            ids = self._publisher.publish(events)
        except (ParseError, UnknownSenderError, MappingError) as exc:
            code = ERROR if isinstance(exc, MappingError) else REJECT
            return self._reject(raw, header, code, exc, now)
        except DeliveryError as exc:
            log.warning("hl7 intake could not publish: %s", exc)
            reason = "the hub could not store the message durably just now; please resend"
            return IntakeResult(ERROR, build_ack(header, ERROR, now, self._control_id(), reason), reason=reason)
        log.info("hl7 intake accepted %s from %s (%s)", message.header.message_type, org.code, org.type)
        return IntakeResult(ACCEPT, build_ack(header, ACCEPT, now, self._control_id()), tuple(ids))

    def _reject(self, raw: bytes, header: Header | None, code: str, exc: ConnectorError, now: datetime) -> IntakeResult:
        reason = str(exc)
        try:
            self._publisher.dead_letter("hl7v2", exc.phase, reason, raw, CONTENT_TYPE, now)
        except DeliveryError as delivery:
            # Not kept, so we must not imply it was: tell the sender to resend.
            log.warning("hl7 dead-letter publish failed: %s", delivery)
            reason = f"{reason}; and the hub could not keep the message, please resend"
            return IntakeResult(
                ERROR, build_ack(header, ERROR, now, self._control_id(), reason, exc.location), reason=reason
            )
        log.info("hl7 intake %s: %s", code, reason)
        return IntakeResult(code, build_ack(header, code, now, self._control_id(), reason, exc.location), reason=reason)
