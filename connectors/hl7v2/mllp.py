"""MLLP framing: <VT> message <FS><CR>. Pure, incremental, so the server can read partial TCP segments."""

from __future__ import annotations

START = b"\x0b"
END = b"\x1c\x0d"


def frame(message: bytes) -> bytes:
    return START + message + END


class FrameDecoder:
    """Accumulates bytes and yields complete message bodies; junk before a start byte is discarded."""

    def __init__(self, max_bytes: int = 16 * 1024 * 1024) -> None:
        self._buffer = bytearray()
        self._max = max_bytes

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer.extend(data)
        messages: list[bytes] = []
        while True:
            start = self._buffer.find(START)
            if start < 0:
                self._buffer.clear()
                break
            end = self._buffer.find(END, start + 1)
            if end < 0:
                if start:
                    del self._buffer[:start]
                if len(self._buffer) > self._max:
                    raise ValueError(f"MLLP frame exceeds {self._max} bytes without an end marker")
                break
            messages.append(bytes(self._buffer[start + 1 : end]))
            del self._buffer[: end + len(END)]
        return messages
