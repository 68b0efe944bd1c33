from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.hl7v2.mllp import END, START, FrameDecoder, frame

bodies = st.lists(st.binary(max_size=200).filter(lambda b: START not in b and END not in b), max_size=5)


@given(bodies, st.integers(min_value=1, max_value=50))
def test_messages_survive_any_tcp_segmentation(messages: list[bytes], chunk: int) -> None:
    stream = b"".join(frame(m) for m in messages)
    decoder = FrameDecoder()
    received: list[bytes] = []
    for i in range(0, len(stream), chunk):
        received += decoder.feed(stream[i : i + chunk])
    assert received == messages


def test_junk_before_a_start_byte_is_ignored() -> None:
    assert FrameDecoder().feed(b"noise" + frame(b"MSH|x")) == [b"MSH|x"]


def test_an_endless_frame_is_refused() -> None:
    decoder = FrameDecoder(max_bytes=10)
    with pytest.raises(ValueError, match="exceeds 10 bytes"):
        decoder.feed(START + b"x" * 20)
