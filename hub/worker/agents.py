"""What the worker runs: the batched hot path (identity, projection, outbound feeds) and a Faust agent for dead
letters.

intake → identity (which child?) → events topic keyed by child id → event store + projections + feeds.
Dead letters are also copied into SQL so `onestory deadletter list|show|replay` works after the broker restarts;
that topic is low-volume, so Faust's per-event cost does not matter there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import faust

from hub.db.transient import in_thread_retrying
from hub.kafka.topics import DEADLETTER
from hub.outbound.config import OutboundConfig
from hub.worker.app import WorkerDeps, raw_topic
from hub.worker.batch_consumer import Message
from hub.worker.hot_path import STEPS, HotPath, steps_for
from hub.worker.stages import store_deadletters

log = logging.getLogger(__name__)
BATCH = 2000
WITHIN = 0.1


def register(
    app: faust.App,
    deps: WorkerDeps,
    bootstrap: str,
    outbound: OutboundConfig | None,
    session_timeout_s: float,
    step_names: tuple[str, ...] = STEPS,
    security: Mapping[str, str] | None = None,
) -> HotPath:
    """Register the dead-letter agent and the hot path's `step_names`; the hot path starts and stops with
    the app. Every worker keeps dead letters (idempotent by id; the group shares the partitions).
    `security`: the hot path's Kafka client security (hub.kafka.security.kafka_client_config)."""
    hot: HotPath | None = None

    def stopping() -> bool:
        return hot is not None and hot.stopping()

    steps = steps_for(step_names, deps, stopping, outbound)
    hot = HotPath(bootstrap, app.conf.id, steps, session_timeout_s, security)

    @app.agent(raw_topic(app, DEADLETTER), name="deadletters")
    async def deadletter_store(stream: faust.StreamT[bytes]) -> None:
        async for batch in stream.take_events(BATCH, within=WITHIN):  # type: ignore[attr-defined]
            records = [Message.from_faust(event) for event in batch]
            await in_thread_retrying("deadletters", store_deadletters, deps, records)

    @app.task
    async def hot_path() -> None:
        hot.start()
        try:
            await asyncio.to_thread(hot.wait)
        except Exception as exc:
            hot.stop()
            log.error("the hot path stopped on %s; the worker stops so it is restarted", type(exc).__name__)
            await app.crash(exc)
            raise

    @app.on_before_shutdown.connect  # type: ignore[arg-type]  # mode types receivers as sync or Awaitable
    async def stop_hot_path(_app: Any, *_args: Any, signal: Any, **_kwargs: Any) -> None:
        hot.stop()
        await asyncio.to_thread(hot.wait, 10.0)

    return hot
