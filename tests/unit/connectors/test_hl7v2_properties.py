"""Property: whatever bytes arrive over MLLP, the intake answers with an ACK and either publishes or keeps them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connectors.errors import ConnectorError
from connectors.hl7v2.intake import Hl7Intake
from connectors.hl7v2.map import Hl7Mapping, map_message
from connectors.hl7v2.mllp_client import ack_code
from connectors.hl7v2.parse import DELIMITER_CHARACTERS, parse, read_header
from hub.directory_file import bundled_directory
from tests.conftest import hl7_samples
from tests.unit.connectors.fakes import MemoryPublisher

MAPPING = Hl7Mapping.bundled()
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SAMPLES = [p.read_bytes() for p in hl7_samples()]


def _intake() -> tuple[Hl7Intake, MemoryPublisher]:
    pub = MemoryPublisher()
    return Hl7Intake(pub, MAPPING, bundled_directory(), clock=lambda: NOW), pub  # type: ignore[arg-type]


def _check(raw: bytes) -> None:
    intake, pub = _intake()
    result = intake.handle(raw)
    assert ack_code(result.ack) in ("AA", "AE", "AR", "CA", "CE", "CR")
    header = read_header(result.ack.decode("utf-8").split("\r")[0])  # readable in its own delimiters
    assert header.delimiters.field in DELIMITER_CHARACTERS
    if result.code == "AA":
        assert pub.events and not pub.dead
    else:
        assert result.reason
        assert len(pub.dead) == 1 and pub.dead[0]["body"] == raw and not pub.events
        assert b"ERR" in result.ack


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_any_bytes_get_an_ack(raw: bytes) -> None:
    _check(raw)


@st.composite
def mutated_sample(draw: Any) -> bytes:
    raw = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "delete", "insert"]))
        pos = draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "flip" and raw:
            raw[pos] = draw(st.sampled_from(list(b"|^~\\&\r\n x0AZ\x00\xff")))
        elif op == "delete" and raw:
            del raw[pos : pos + draw(st.integers(1, 40))]
        else:
            raw[pos:pos] = draw(st.binary(min_size=1, max_size=20))
    return bytes(raw)


def _delimiter_mutated(sample: bytes, index: int, to: bytes) -> bytes:
    """A sample with one MSH delimiter (3: MSH-1, 4-7: MSH-2) replaced, as the mutation strategy can draw."""
    start = sample.index(b"MSH")
    return sample[: start + index] + to + sample[start + index + 1 :]


# Once flaky: a letter as MSH-1 was trusted, and an ACK in "A" delimiters ("MSAAAR...") cannot be read.
@example(_delimiter_mutated(SAMPLES[0], 3, b"A"))
@example(_delimiter_mutated(SAMPLES[0], 3, b"Z"))
@example(_delimiter_mutated(SAMPLES[0], 4, b"A"))
@example(_delimiter_mutated(SAMPLES[0], 3, b" "))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_sample())
def test_mutated_samples_are_accepted_or_rejected_with_a_reason(raw: bytes) -> None:
    _check(raw)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(SAMPLES), st.text(alphabet="ABCDEFGZ0123456789|^~&\\ ", max_size=40))
def test_pure_mapping_raises_only_typed_errors(raw: bytes, extra: str) -> None:
    variant = raw + b"\rZXX|" + extra.encode()
    try:
        events = map_message(parse(variant), MAPPING, NOW)
    except ConnectorError as exc:
        assert exc.reason
    else:
        assert len(events) == 1


def test_delivery_failure_asks_the_sender_to_resend() -> None:
    intake, pub = _intake()
    pub.fail = True
    result = intake.handle(SAMPLES[0])
    assert result.code == "AE" and "resend" in (result.reason or "")
