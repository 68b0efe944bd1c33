"""A minimal MLLP sender (for demo data, the CLI and tests): one message, wait for its ACK."""

from __future__ import annotations

import socket

from connectors.hl7v2.mllp import FrameDecoder, frame


def send_message(host: str, port: int, message: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(frame(message))
        decoder = FrameDecoder()
        while True:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("MLLP peer closed the connection before sending an ACK")
            acks = decoder.feed(data)
            if acks:
                return acks[0]


def ack_code(ack: bytes) -> str:
    """MSA-1 of an ACK."""
    for segment in ack.decode("utf-8", "replace").split("\r"):
        if segment.startswith("MSA"):
            return segment.split(segment[3])[1]
    raise ValueError("ACK has no MSA segment")
