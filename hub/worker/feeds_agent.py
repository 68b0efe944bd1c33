"""The outbox relay and the rest-hook delivery loop, registered as timers on the worker's Faust app.

The feeds themselves are decided on the hot path right after each projection batch (hub/worker/hot_path.py,
tracked as `outbound.feeds`); these two timers send what was queued.
"""

from __future__ import annotations

import asyncio
import logging

import faust
import httpx
from sqlalchemy.exc import DBAPIError

from hub.db.transient import is_transient
from hub.kafka.producer import DeliveryError
from hub.outbound.config import OutboundConfig
from hub.outbound.relay import deliver_due, publish_outbox
from hub.worker.app import WorkerDeps

log = logging.getLogger(__name__)


def register(app: faust.App, deps: WorkerDeps, config: OutboundConfig) -> None:
    settings = config.settings

    @app.timer(interval=settings.poll_seconds)
    async def relay_outbox() -> None:
        try:
            while await asyncio.to_thread(publish_outbox, deps.engine, deps.producer) > 0:
                pass
        except DeliveryError as exc:
            log.warning("outbound outbox not published, will retry: %s", exc)
        except DBAPIError as exc:  # a timer tick that meets a locked database simply tries again next tick
            if not is_transient(exc):
                raise
            log.warning("outbound outbox: transient database error (%s), next tick retries", type(exc.orig).__name__)

    client = httpx.AsyncClient(timeout=settings.request_timeout)

    @app.timer(interval=settings.poll_seconds)
    async def rest_hooks() -> None:
        try:
            await deliver_due(deps.engine, settings, client)
        except DBAPIError as exc:
            if not is_transient(exc):
                raise
            log.warning("rest hooks: transient database error (%s), next tick retries", type(exc.orig).__name__)
