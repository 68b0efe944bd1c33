"""The intake decision under bad and hostile input: limits, faults of the hub, sender binding. Pure, no sockets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from confluent_kafka import KafkaError, KafkaException

from connectors.hl7v2.intake import Hl7Intake
from connectors.hl7v2.limits import Hl7Limits, LimitError, check_limits
from connectors.hl7v2.map import Hl7Mapping
from connectors.hl7v2.mllp_client import ack_code
from connectors.hl7v2.parse import read_header
from connectors.hl7v2.senders import MllpPeer, Refusal
from hub.directory_file import bundled_directory
from hub.events.model import Envelope
from tests.unit.connectors.fakes import MemoryPublisher

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LOOPBACK = MllpPeer("127.0.0.1")


def adt(facility: str = "RIVERSIDE-EMIS", name: str = "Senders^Sam", sep: str = "|") -> bytes:
    text = (
        f"MSH|^~\\&|EMIS|{facility}|ONESTORY|HUB|20261101093000||ADT^A04|CTRL0001|P|2.4\r"
        "EVN|A04|20261101093000\r"
        f"PID|1||L1^^^{facility}^MR~9434765870^^^NHS^NH||{name}||20120304|F\r"
        "PV1|1|O|GPCLINIC^^^SURGERY\r"
    )
    return text.replace("|", sep).encode()


class ExplodingPublisher(MemoryPublisher):
    """Publishes by raising what a broken dependency raises."""

    error: BaseException = RuntimeError("boom: Sam Senders")

    def publish(self, events: Sequence[Envelope], trace_headers: dict[str, str] | None = None) -> list[str]:
        raise self.error


def intake(publisher: MemoryPublisher | None = None, **kwargs: object) -> tuple[Hl7Intake, MemoryPublisher]:
    pub = publisher or MemoryPublisher()
    built = Hl7Intake(pub, Hl7Mapping.bundled(), bundled_directory(), clock=lambda: NOW, **kwargs)  # type: ignore[arg-type]
    return built, pub


def msa(ack: bytes) -> list[str]:
    text = ack.decode()
    sep = text[3]
    return next(s for s in text.split("\r") if s.startswith("MSA")).split(sep)


def test_a_message_over_the_size_limit_gets_ar_naming_the_limit_and_is_kept() -> None:
    hl7, pub = intake(limits=Hl7Limits(max_message_bytes=4096, max_field_bytes=2048))
    raw = adt(name="X" * 5000)
    result = hl7.handle(raw, LOOPBACK)
    assert result.code == "AR" and msa(result.ack)[2] == "CTRL0001"
    assert b"hl7_max_message_bytes" in result.ack and b"104^Value too long" in result.ack
    assert b"XXXX" not in result.ack  # sizes, never content
    assert len(pub.dead) == 1 and pub.dead[0]["phase"] == "limit" and pub.dead[0]["body"] == raw
    assert not pub.events


def test_a_field_over_the_field_limit_is_named_by_position() -> None:
    hl7, pub = intake(limits=Hl7Limits(max_message_bytes=1 << 20, max_field_bytes=1024))
    result = hl7.handle(adt(name="Y" * 3000), LOOPBACK)
    assert result.code == "AR" and b"ERR|" in result.ack and b"|PID-5|" in result.ack
    assert b"hl7_max_field_bytes" in result.ack and pub.dead[0]["phase"] == "limit"


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b"MSH|^~\\&|" + b"A" * 3000 + b"|x\rPID|1", "MSH-3"),
        (b"\xef\xbb\xbfMSH#^~\\&#a#" + b"B" * 3000, "MSH-4"),
        (b"Q" * 3000, "segment 1"),
        (b"MSH|^~\\&|a\r\n" + b"zz1|" + b"C" * 3000, "segment 2"),
    ],
)
def test_field_positions(raw: bytes, where: str) -> None:
    with pytest.raises(LimitError) as raised:
        check_limits(raw, Hl7Limits(max_message_bytes=1 << 20, max_field_bytes=1024))
    assert raised.value.location == where


def test_an_over_long_msh_field_is_answered_in_standard_delimiters() -> None:
    hl7, _ = intake(limits=Hl7Limits(max_message_bytes=1 << 20, max_field_bytes=1024))
    raw = b"MSH#^~\\&#" + b"A" * 2000 + b"#RX1#ONESTORY#HUB#2026##ADT^A04#C1#P#2.4\rEVN#A04"
    result = hl7.handle(raw)
    assert result.code == "AR" and result.ack.startswith(b"MSH|^~\\&|") and b"MSH-3" in result.ack


def test_an_unexpected_exception_becomes_ae_and_a_dead_letter_logged_by_type_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hl7, pub = intake(ExplodingPublisher())
    result = hl7.handle(adt(), LOOPBACK)
    assert result.code == "AE" and b"could not be processed" in result.ack
    assert pub.dead[0]["phase"] == "unexpected"
    assert "RuntimeError" in caplog.text and "Sam" not in caplog.text and "boom" not in caplog.text


def test_a_broker_failure_asks_the_sender_to_resend_and_claims_nothing_kept() -> None:
    pub = ExplodingPublisher()
    pub.error = KafkaException(KafkaError(KafkaError._TRANSPORT))
    hl7, _ = intake(pub)
    result = hl7.handle(adt(), LOOPBACK)
    assert result.code == "AE" and b"please resend" in result.ack and not pub.dead


def test_an_event_too_large_for_the_broker_is_rejected_not_retried_forever() -> None:
    pub = ExplodingPublisher()
    pub.error = KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
    hl7, _ = intake(pub)
    result = hl7.handle(adt(), LOOPBACK)
    assert result.code == "AR" and b"too large" in result.ack and pub.dead[0]["phase"] == "limit"


def test_an_over_limit_message_that_cannot_be_kept_is_still_rejected_without_claiming_a_copy() -> None:
    pub = MemoryPublisher(fail=True)
    hl7, _ = intake(pub, limits=Hl7Limits(max_message_bytes=2048, max_field_bytes=1024))
    result = hl7.handle(adt(name="Z" * 3000))
    assert result.code == "AR" and b"could not keep a copy" in result.ack


def test_an_oversized_frame_is_answered_from_its_head() -> None:
    hl7, pub = intake()
    result = hl7.handle_oversized(adt()[:100], 50_000_000)
    assert result.code == "AR" and msa(result.ack)[2] == "CTRL0001" and b"not read or kept" in result.ack
    assert not pub.dead


@pytest.mark.parametrize("sep", ["A", "M", "1", " "])
def test_a_header_with_letter_digit_or_space_delimiters_gets_a_readable_ack(sep: str) -> None:
    hl7, pub = intake()
    result = hl7.handle(adt(sep=sep))
    assert result.code == "AR" and ack_code(result.ack) == "AR"
    assert read_header(result.ack.decode().split("\r")[0]).delimiters.field == "|"
    assert pub.dead[0]["phase"] == "parse"


def test_a_sender_not_bound_to_msh4_is_refused_kept_and_reported() -> None:
    refusals: list[Refusal] = []
    hl7, pub = intake(bind_senders=True, on_refused=refusals.append)
    result = hl7.handle(adt(), MllpPeer("192.0.2.7", "someone-else"))
    assert result.code == "AR" and b"MSH-4 'RIVERSIDE-EMIS' is not bound to this connection" in result.ack
    assert pub.dead[0]["phase"] == "sender-binding" and not pub.events
    (refusal,) = refusals
    assert refusal.organisation == "A81001" and refusal.facility == "RIVERSIDE-EMIS"
    assert refusal.peer.address == "192.0.2.7" and refusal.deadletter_id == pub.dead[0]["id"]


def test_a_bound_sender_is_accepted_and_binding_off_or_no_peer_skips_the_check() -> None:
    hl7, pub = intake(bind_senders=True, on_refused=lambda r: pytest.fail(str(r)))
    assert hl7.handle(adt(), LOOPBACK).code == "AA"
    assert hl7.handle(adt()).code == "AA"  # a local caller (replay) has no connection to bind
    unbound, _ = intake(bind_senders=False)
    assert unbound.handle(adt(), MllpPeer("192.0.2.7")).code == "AA"


def test_a_failing_audit_does_not_let_the_refused_message_in(caplog: pytest.LogCaptureFixture) -> None:
    def broken(_: Refusal) -> None:
        raise OSError("database down")

    hl7, pub = intake(bind_senders=True, on_refused=broken)
    assert hl7.handle(adt(), MllpPeer("192.0.2.7")).code == "AR" and not pub.events
    assert "could not be audited (OSError)" in caplog.text
