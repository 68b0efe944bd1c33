from __future__ import annotations

from datetime import datetime

from connectors.hl7v2.ack import build_ack
from connectors.hl7v2.parse import normalise, read_header

NOW = datetime(2026, 11, 22, 9, 30, 0)
MSG = b"MSH|^~\\&|PAS|RX1|ONESTORY|HUB|20261101093000||ADT^A01|CTRL42|P|2.4\rPID|1\r"


def segments(ack: bytes) -> list[list[str]]:
    return [s.split("|") for s in ack.decode().split("\r") if s]


def test_accept_swaps_sender_and_receiver_and_echoes_the_control_id() -> None:
    ack = segments(build_ack(read_header(normalise(MSG)), "AA", NOW, "OS1"))
    msh, msa = ack[0], ack[1]
    assert msh[2:6] == ["ONESTORY", "HUB", "PAS", "RX1"]
    assert msh[8] == "ACK^A01^ACK" and msh[9] == "OS1" and msh[11] == "2.4"
    assert msa == ["MSA", "AA", "CTRL42"]
    assert len(ack) == 2


def test_error_carries_an_err_segment_with_the_reason_escaped() -> None:
    ack = segments(build_ack(read_header(normalise(MSG)), "AE", NOW, "OS2", "bad | value ^ here", "PID-3"))
    err = ack[2]
    assert err[0] == "ERR" and err[2] == "PID-3" and err[3].startswith("207^")
    assert err[8] == "bad \\F\\ value \\S\\ here"


def test_enhanced_mode_uses_commit_codes() -> None:
    enhanced = MSG.replace(b"|P|2.4", b"|P|2.4|||AL|NE")
    assert segments(build_ack(read_header(normalise(enhanced)), "AR", NOW, "OS3", "x"))[1][1] == "CR"


def test_unreadable_header_still_gets_an_ack() -> None:
    ack = segments(build_ack(None, "AR", NOW, "OS4", "message does not start with an MSH segment", "MSH"))
    assert ack[0][0] == "MSH" and ack[1][:2] == ["MSA", "AR"]


def test_sender_delimiters_are_kept() -> None:
    odd = b"MSH^~|\\&^APP^FAC^HUB^HUB^20260101^^ADT~A01^C1^P^2.4\rPID^1\r"
    header = read_header(normalise(odd))
    assert header.message_type == "ADT^A01" and header.control_id == "C1"
    ack = build_ack(header, "AA", NOW, "OS5").decode()
    assert ack.startswith("MSH^~|\\&^HUB^HUB^APP^FAC") and "MSA^AA^C1" in ack
