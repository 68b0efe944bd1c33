"""The MLLP listener: frames in, one ACK per message out, in order, per connection.

Optionally over TLS (an `ssl.SSLContext` from the hub's settings; with a client CA, mutual TLS: a client
without a certificate that CA signed never gets past the handshake). Each message is handed to the intake
with its peer (address and client-certificate CN), which the intake checks against the directory's binding
of MSH-4. A peer that is not speaking MLLP (a byte other than the start byte outside a frame) is logged and
dropped at once rather than left waiting; a frame past the decoder's hard cap is read to its end, discarded,
answered with AR and the connection closed.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

from connectors.hl7v2.intake import Hl7Intake
from connectors.hl7v2.mllp import FrameDecoder, Oversized, Unframed, frame
from connectors.hl7v2.senders import MllpPeer
from hub.telemetry.spans import intake_span, record_intake

log = logging.getLogger(__name__)
TLS_HANDSHAKE_TIMEOUT = 10.0


def peer_of(writer: asyncio.StreamWriter) -> MllpPeer:
    """The connection's remote address and, over TLS, its verified client certificate's subject CN."""
    name = writer.get_extra_info("peername")
    address = str(name[0]) if isinstance(name, tuple) and name else None
    return MllpPeer(address, certificate_cn(writer.get_extra_info("peercert")))


def certificate_cn(cert: Any) -> str | None:
    """The subject commonName of a certificate as `ssl.SSLSocket.getpeercert()` gives it."""
    if not isinstance(cert, dict):
        return None
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


class MllpServer:
    def __init__(self, intake: Hl7Intake, host: str, port: int, tls: ssl.SSLContext | None = None) -> None:
        self._intake = intake
        self.host = host
        self.port = port
        self.tls = tls
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve,
            self.host,
            self.port,
            ssl=self.tls,
            ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT if self.tls else None,
        )
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = peer_of(writer)
        decoder = FrameDecoder(self._intake.limits.frame_cap)
        try:
            while data := await reader.read(65536):
                for item in decoder.items(data):
                    if isinstance(item, Unframed):
                        log.warning(
                            "mllp connection from %s closed: byte 0x%02x outside a frame, where MLLP needs the "
                            "start byte 0x0b (is the sender framing its messages with MLLP?)",
                            peer.address,
                            item.byte,
                        )
                        return
                    if isinstance(item, Oversized):
                        result = self._intake.handle_oversized(item.head, item.size)
                        writer.write(frame(result.ack))
                        await writer.drain()
                        return
                    with intake_span("hl7v2", "mllp") as span:
                        result = await asyncio.to_thread(self._intake.handle, item, peer)
                        record_intake(span, result.code, len(result.event_ids))
                    writer.write(frame(result.ack))
                    await writer.drain()
        except (ConnectionError, ssl.SSLError) as exc:
            log.info("mllp peer went away: %s", type(exc).__name__)
        finally:
            writer.close()
