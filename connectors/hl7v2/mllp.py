"""MLLP framing: <VT> message <FS><CR>. Pure, incremental, so the server can read partial TCP segments.

Outside a frame only whitespace is tolerated (some senders add a line feed after <FS><CR>): any other byte
means the peer is not speaking MLLP (an unframed HL7 message, a web browser, a port scanner), and waiting for
a start byte that will never come only leaves that peer hanging, so the decoder reports it at once.

A frame longer than `max_bytes` is not buffered: its first bytes are kept (enough to address an ACK) and the
rest is counted and discarded up to its end marker, so the server can still answer it with a rejection.
"""

from __future__ import annotations

from dataclasses import dataclass

START = b"\x0b"
END = b"\x1c\x0d"
_WHITESPACE = b" \t\r\n\x00"
HEAD_BYTES = 64 * 1024
"""How much of an oversized frame is kept: the MSH segment, to address the rejection."""


def frame(message: bytes) -> bytes:
    return START + message + END


@dataclass(frozen=True)
class Oversized:
    """A frame longer than the decoder's cap: its first bytes and its whole length (its body was discarded)."""

    head: bytes
    size: int


@dataclass(frozen=True)
class Unframed:
    """A byte outside a frame that is neither whitespace nor the start byte: the peer is not using MLLP."""

    byte: int


Item = bytes | Oversized | Unframed


class FrameDecoder:
    """Accumulates bytes and yields complete message bodies, oversized frames and the first unframed byte."""

    def __init__(self, max_bytes: int = 16 * 1024 * 1024) -> None:
        self._buffer = bytearray()
        self._max = max_bytes
        self._in_frame = False
        self._scanned = 0  # bytes of the open frame already searched for END
        self._overflow = 0  # > 0: the open frame passed the cap; bytes seen so far
        self._head = b""
        self._broken = False

    def feed(self, data: bytes) -> list[bytes]:
        """The message bodies complete so far, for a stream known to be well framed (ACKs, files of frames).

        Raise ValueError at a byte outside a frame or a frame over the cap (the listener uses `items`).
        """
        bodies: list[bytes] = []
        for item in self.items(data):
            if isinstance(item, Unframed):
                raise ValueError(f"byte 0x{item.byte:02x} outside an MLLP frame")
            if isinstance(item, Oversized):
                raise ValueError(f"MLLP frame of {item.size} bytes exceeds {self._max} bytes")
            bodies.append(item)
        return bodies

    def items(self, data: bytes) -> list[Item]:
        """Everything complete in the stream so far. After an `Unframed` item the decoder yields nothing more."""
        if self._broken:
            return []
        self._buffer.extend(data)
        items: list[Item] = []
        while self._buffer:
            if not self._in_frame:
                junk = len(self._buffer) - len(self._buffer.lstrip(_WHITESPACE))
                del self._buffer[:junk]
                if not self._buffer:
                    break
                if self._buffer[:1] != START:
                    self._broken = True
                    items.append(Unframed(self._buffer[0]))
                    self._buffer.clear()
                    break
                del self._buffer[:1]
                self._in_frame, self._scanned = True, 0
            item = self._frame_end()
            if item is None:
                break
            items.append(item)
            self._in_frame = False
        return items

    def _frame_end(self) -> bytes | Oversized | None:
        """The open frame if its end marker has arrived, else None (the buffer is kept or counted)."""
        end = self._buffer.find(END, max(self._scanned - 1, 0))
        if end < 0:
            if self._overflow or len(self._buffer) > self._max:
                if not self._overflow:
                    self._head = bytes(self._buffer[:HEAD_BYTES])
                keep = 1 if self._buffer.endswith(END[:1]) else 0  # an <FS> whose <CR> is still to come
                self._overflow += len(self._buffer) - keep
                del self._buffer[: len(self._buffer) - keep]
            self._scanned = len(self._buffer)
            return None
        if self._overflow:
            found: bytes | Oversized = Oversized(self._head, self._overflow + end)
            self._overflow, self._head = 0, b""
        elif end > self._max:
            found = Oversized(bytes(self._buffer[:HEAD_BYTES]), end)
        else:
            found = bytes(self._buffer[:end])
        del self._buffer[: end + len(END)]
        return found
