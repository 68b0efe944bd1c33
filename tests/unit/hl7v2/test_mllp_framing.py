from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.hl7v2.mllp import END, HEAD_BYTES, START, FrameDecoder, Oversized, Unframed, frame

bodies = st.lists(st.binary(max_size=200).filter(lambda b: START not in b and END not in b), max_size=5)


@given(bodies, st.integers(min_value=1, max_value=50))
def test_messages_survive_any_tcp_segmentation(messages: list[bytes], chunk: int) -> None:
    stream = b"".join(frame(m) for m in messages)
    decoder = FrameDecoder()
    received: list[object] = []
    for i in range(0, len(stream), chunk):
        received += decoder.feed(stream[i : i + chunk])
    assert received == messages


def test_whitespace_between_frames_is_tolerated() -> None:
    assert FrameDecoder().feed(b"\r\n " + frame(b"MSH|a") + b"\n" + frame(b"MSH|b")) == [b"MSH|a", b"MSH|b"]


def test_a_byte_other_than_the_start_byte_outside_a_frame_is_reported_at_once() -> None:
    decoder = FrameDecoder()
    assert decoder.items(b"MSH|^~\\&|no framing") == [Unframed(ord("M"))]
    assert decoder.items(frame(b"MSH|x")) == []  # nothing more is read from such a peer
    # Messages framed before the junk are still delivered, in order.
    assert FrameDecoder().items(frame(b"MSH|a") + b"GET / HTTP/1.1") == [b"MSH|a", Unframed(ord("G"))]
    with pytest.raises(ValueError, match="byte 0x47 outside an MLLP frame"):
        FrameDecoder().feed(frame(b"MSH|a") + b"GET / HTTP/1.1")


@given(st.integers(min_value=1, max_value=4096))
def test_a_frame_over_the_cap_is_counted_and_discarded_in_any_segmentation(chunk: int) -> None:
    body = b"MSH|^~\\&|" + b"x" * 20_000
    stream = frame(body) + frame(b"MSH|after")
    decoder = FrameDecoder(max_bytes=1000)
    received: list[object] = []
    for i in range(0, len(stream), chunk):
        received += decoder.items(stream[i : i + chunk])
    assert len(received) == 2 and received[1] == b"MSH|after"
    over = received[0]
    assert isinstance(over, Oversized) and over.size == len(body)
    assert body.startswith(over.head) and over.head.startswith(b"MSH|^~\\&|")
    assert len(over.head) <= HEAD_BYTES


def test_a_frame_at_the_cap_is_delivered_whole_and_feed_refuses_one_over_it() -> None:
    assert FrameDecoder(max_bytes=10).feed(frame(b"x" * 10)) == [b"x" * 10]
    with pytest.raises(ValueError, match="MLLP frame of 11 bytes exceeds 10 bytes"):
        FrameDecoder(max_bytes=10).feed(frame(b"x" * 11))
