"""The MLLP listener: frames in, one ACK per message out, in order, per connection."""

from __future__ import annotations

import asyncio
import logging

from connectors.hl7v2.intake import Hl7Intake
from connectors.hl7v2.mllp import FrameDecoder, frame
from hub.telemetry.spans import intake_span, record_intake

log = logging.getLogger(__name__)


class MllpServer:
    def __init__(self, intake: Hl7Intake, host: str, port: int) -> None:
        self._intake = intake
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
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
        decoder = FrameDecoder()
        try:
            while data := await reader.read(65536):
                try:
                    messages = decoder.feed(data)
                except ValueError as exc:
                    log.warning("mllp connection dropped: %s", exc)
                    break
                for message in messages:
                    with intake_span("hl7v2", "mllp") as span:
                        result = await asyncio.to_thread(self._intake.handle, message)
                        record_intake(span, result.code, len(result.event_ids))
                    writer.write(frame(result.ack))
                    await writer.drain()
        except ConnectionError as exc:
            log.info("mllp peer went away: %s", type(exc).__name__)
        finally:
            writer.close()
