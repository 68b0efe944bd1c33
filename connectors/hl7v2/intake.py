"""The HL7 v2 intake decision: one raw message in, one ACK out, the events published or the input kept.

Typed errors decide the outcome: a message over the size limits → AR, ParseError → AR, a message type or
content out of the story's scope (OutOfScope: mapping.yaml `out_of_scope`) → AR, a sender the
organisation directory does not know (MSH-4) → AR, a connection not bound to MSH-4's organisation → AR (and
audited through `on_refused`), MappingError → AE, all dead-lettered with their reason; a delivery failure →
AE asking the sender to resend (nothing was accepted, so nothing is dead-lettered). Anything else is a fault
of the hub, not of the message: AE "could not be processed", dead-lettered (phase "unexpected") so it can be
replayed after a fix, and logged by exception type only. No exception leaves `handle`: a sender always gets
its ACK, never a silence that it would answer by resending forever.

A known sender's events carry the organisation code and type the directory gives it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import KafkaError, KafkaException

from connectors.errors import ConnectorError, EventTooLarge, MappingError, OutOfScope, ParseError
from connectors.hl7v2.ack import ACCEPT, ERROR, REJECT, build_ack
from connectors.hl7v2.limits import VALUE_TOO_LONG, Hl7Limits, LimitError, check_limits
from connectors.hl7v2.map import Hl7Mapping, map_message
from connectors.hl7v2.parse import Header, normalise, parse, read_header
from connectors.hl7v2.senders import (
    MllpPeer,
    Refusal,
    SenderNotBoundError,
    UnknownSenderError,
    check_binding,
    sender,
)
from connectors.publisher import Publisher
from consent_engine.directory import Directory
from hub.kafka.producer import DeliveryError

log = logging.getLogger(__name__)
CONTENT_TYPE = "x-application/hl7-v2+er7"
RESEND = "the hub could not store the message durably just now; please resend"
_HEADER_BYTES = 64 * 1024


class UnexpectedError(ConnectorError):
    """The hub failed on this message in a way no typed error describes (HL7 AE; dead-lettered for replay)."""

    phase = "unexpected"


@dataclass(frozen=True)
class IntakeResult:
    code: str
    ack: bytes
    event_ids: tuple[str, ...] = ()
    reason: str | None = None


def _safe_header(raw: bytes) -> Header | None:
    """MSH from the first segment only (cheap on a 5 MB message), or None if it cannot be trusted."""
    first = raw[:_HEADER_BYTES].replace(b"\n", b"\r").split(b"\r", 1)[0]
    try:
        return read_header(normalise(first))
    except ParseError:
        return None


def _too_large(exc: KafkaException) -> bool:
    error = exc.args[0] if exc.args else None
    return isinstance(error, KafkaError) and error.code() == KafkaError.MSG_SIZE_TOO_LARGE


class Hl7Intake:
    """`bind_senders`: refuse a message whose MLLP peer the directory does not list for MSH-4's organisation.

    `on_refused` is called with each such refusal (the hub appends it to its audit log); it runs after the
    message is dead-lettered and before the ACK is sent.
    """

    def __init__(
        self,
        publisher: Publisher,
        mapping: Hl7Mapping,
        directory: Directory,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        limits: Hl7Limits | None = None,
        bind_senders: bool = False,
        on_refused: Callable[[Refusal], object] | None = None,
    ) -> None:
        self._publisher = publisher
        self._mapping = mapping
        self._directory = directory
        self._clock = clock
        self.limits = limits or Hl7Limits()
        self._bind = bind_senders
        self._on_refused = on_refused
        self._ack_seq = 0

    def _control_id(self) -> str:
        self._ack_seq += 1
        return f"OS{self._clock().strftime('%Y%m%d%H%M%S')}{self._ack_seq:06d}"

    def handle(self, raw: bytes, peer: MllpPeer | None = None) -> IntakeResult:
        """The ACK for one message. `peer`: the MLLP connection it came on (None: a local caller, e.g. replay)."""
        now = self._clock()
        header: Header | None = None
        try:
            header = _safe_header(raw)
            check_limits(raw, self.limits)
            message = parse(raw)
            org = sender(message.header, self._directory)
            if self._bind and peer is not None:
                check_binding(org, message.header.sending_facility, peer)
            events = map_message(message, self._mapping, now, organisation=org.code, organisation_type=org.type)
            ids = self._publisher.publish(events)
        except (LimitError, EventTooLarge) as exc:
            trusted = header if exc.location is None or not exc.location.startswith("MSH") else None
            return self._reject(raw, trusted, REJECT, exc, now)
        except SenderNotBoundError as exc:
            result, kept = self._reject_kept(raw, header, REJECT, exc, now)
            self._refused(Refusal(org.code, message.header.sending_facility, peer or MllpPeer(None), exc.reason, kept))
            return result
        except (ParseError, UnknownSenderError, MappingError) as exc:
            # Out of scope is HL7's AR (an unsupported message type or content); unusable content is AE.
            usable = isinstance(exc, MappingError) and not isinstance(exc, OutOfScope)
            return self._reject(raw, header, ERROR if usable else REJECT, exc, now)
        except KafkaException as exc:
            if _too_large(exc):  # permanent: resending the same message would fail the same way
                too_large = LimitError("the events made from this message are too large for the hub's broker")
                return self._reject(raw, header, REJECT, too_large, now)
            return self._resend(header, now, exc)
        except DeliveryError as exc:
            return self._resend(header, now, exc)
        except ConnectorError as exc:
            return self._reject(raw, header, ERROR, exc, now)
        except Exception as exc:  # noqa: BLE001 - every message gets an ACK; the fault is logged and kept
            log.error("hl7 intake failed unexpectedly (%s); answering AE", type(exc).__name__)
            unexpected = UnexpectedError("the message could not be processed: a fault of the hub, not of the message")
            return self._reject(raw, header, ERROR, unexpected, now)
        log.info("hl7 intake accepted %s from %s (%s)", message.header.message_type, org.code, org.type)
        return IntakeResult(ACCEPT, build_ack(header, ACCEPT, now, self._control_id()), tuple(ids))

    def handle_oversized(self, head: bytes, size: int) -> IntakeResult:
        """The AR for an MLLP frame so far over the limit that the listener discarded it unread: not kept."""
        exc = self.limits.message_too_large(size)
        reason = f"{exc.reason}; it was not read or kept"
        log.info("hl7 intake AR: an MLLP frame of %d bytes was discarded unread", size)
        ack = build_ack(_safe_header(head), REJECT, self._clock(), self._control_id(), reason, None, VALUE_TOO_LONG)
        return IntakeResult(REJECT, ack, reason=reason)

    def _resend(self, header: Header | None, now: datetime, exc: Exception) -> IntakeResult:
        log.warning("hl7 intake could not publish: %s", type(exc).__name__)
        return IntakeResult(ERROR, build_ack(header, ERROR, now, self._control_id(), RESEND), reason=RESEND)

    def _reject(self, raw: bytes, header: Header | None, code: str, exc: ConnectorError, now: datetime) -> IntakeResult:
        return self._reject_kept(raw, header, code, exc, now)[0]

    def _reject_kept(
        self, raw: bytes, header: Header | None, code: str, exc: ConnectorError, now: datetime
    ) -> tuple[IntakeResult, str | None]:
        """The rejection's ACK and the dead letter's id (None: it could not be kept, and the ACK says so)."""
        reason = str(exc)  # "MSH-9: ..." where the error has a location
        condition = VALUE_TOO_LONG if isinstance(exc, LimitError) else None
        kept = self._keep(raw, exc.phase, reason, now)
        if kept is None:
            if isinstance(exc, LimitError):
                # Resending a message over the limit can never succeed: still AR, without claiming a copy.
                reason = f"{reason}; the hub could not keep a copy"
            else:
                # Not kept, so we must not imply it was: tell the sender to resend.
                code, reason = ERROR, f"{reason}; and the hub could not keep the message, please resend"
        else:
            log.info("hl7 intake %s (%s)", code, exc.phase)
        ack = build_ack(header, code, now, self._control_id(), reason, exc.location, condition)
        return IntakeResult(code, ack, reason=reason), kept

    def _keep(self, raw: bytes, phase: str, reason: str, now: datetime) -> str | None:
        """Dead-letter the input; None if the store refused it (whatever the store's failure)."""
        try:
            return self._publisher.dead_letter("hl7v2", phase, reason, raw, CONTENT_TYPE, now)
        except Exception as exc:  # noqa: BLE001 - the sender is told the message was not kept
            log.warning("hl7 dead-letter failed (%s): the sender is told to resend", type(exc).__name__)
            return None

    def _refused(self, refusal: Refusal) -> None:
        log.warning(
            "hl7 intake refused MSH-4 %r from %s: not bound to organisation %s",
            refusal.facility,
            refusal.peer.describe(),
            refusal.organisation,
        )
        if self._on_refused is None:
            return
        try:
            self._on_refused(refusal)
        except Exception as exc:  # noqa: BLE001 - the message is refused whether or not the audit is written
            log.error("hl7 sender refusal could not be audited (%s)", type(exc).__name__)
