"""A minimal MLLP sender (for demo data, the CLI and tests): one message, wait for its ACK."""

from __future__ import annotations

import socket
import ssl

from connectors.hl7v2.mllp import FrameDecoder, frame


def read_acks(sock: socket.socket, count: int = 1) -> list[bytes]:
    """The next `count` ACKs on a connection, in order."""
    decoder = FrameDecoder()
    acks: list[bytes] = []
    while len(acks) < count:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("MLLP peer closed the connection before sending an ACK")
        try:
            acks += decoder.feed(data)
        except ValueError as exc:
            raise ConnectionError(f"MLLP peer sent something other than framed ACKs: {exc}") from exc
    return acks


def send_message(
    host: str, port: int, message: bytes, timeout: float = 10.0, tls: ssl.SSLContext | None = None
) -> bytes:
    """Send one framed message and return its ACK; `tls`: a client context for a listener that requires TLS."""
    with socket.create_connection((host, port), timeout=timeout) as raw:
        sock = tls.wrap_socket(raw, server_hostname=host) if tls else raw
        sock.sendall(frame(message))
        return read_acks(sock)[0]


def ack_code(ack: bytes) -> str:
    """MSA-1 of an ACK."""
    for segment in ack.decode("utf-8", "replace").split("\r"):
        if segment.startswith("MSA"):
            return segment.split(segment[3])[1]
    raise ValueError("ACK has no MSA segment")
