"""The outbound agent, the outbox relay and the rest-hook delivery loop, registered on the worker's Faust app.

The agent consumes onestory.events.v1 in batches under its own tracked offsets (`outbound.feeds`); the two
timers send what it queued. Kept apart from projections/agents.py so the outbound path can be switched off
(no `deps.outbound`) without touching the projection agents.
"""

from __future__ import annotations

import asyncio
import logging

import faust
import httpx
from faust.types import EventT
from sqlalchemy.exc import DBAPIError

from hub.app import WorkerDeps, raw_topic
from hub.db.transient import in_thread_retrying, is_transient
from hub.kafka.producer import DeliveryError
from hub.kafka.topics import EVENTS
from hub.outbound.config import OutboundConfig
from hub.outbound.feed_codec import FeedCodec
from hub.outbound.relay import deliver_due, publish_outbox
from projections.feeds import process_batch, wait_for_projector
from projections.sql_sink import Consumed

log = logging.getLogger(__name__)
BATCH = 2000
WITHIN = 0.1


def register(app: faust.App, deps: WorkerDeps, config: OutboundConfig) -> None:
    codec = FeedCodec.load()
    settings = config.settings

    @app.agent(raw_topic(app, EVENTS), name="outbound")
    async def outbound(stream: faust.StreamT[bytes]) -> None:
        async for batch in stream.take_events(BATCH, within=WITHIN):  # type: ignore[attr-defined]
            records = [_consumed(deps, ev) for ev in batch]
            await wait_for_projector(deps.engine, deps.topic_ids, records)
            sent = await in_thread_retrying(
                "outbound", process_batch, deps.engine, deps.policy, config, codec, deps.topic_ids, records
            )
            log.info("outbound: %d record(s) queued for %d event(s)", sent, len(batch))

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


def _consumed(deps: WorkerDeps, ev: EventT) -> Consumed:
    return Consumed(ev.message.topic, ev.message.partition, ev.message.offset, ev.value, deps.codec.decode(ev.value))
