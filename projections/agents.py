"""Faust agents: a few lines each, calling the pure projection code and the SQL sink in batches.

intake → identity (which child?) → events topic keyed by child id → event store + timeline.
Dead letters are also copied into SQL so `onestory deadletter list|show|replay` works after the broker restarts.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import EventT

from hub.app import WorkerDeps, raw_topic
from hub.db.projection_tables import consent_pending
from hub.db.tables import deadletters
from hub.db.transient import in_thread_retrying
from hub.db.upsert import insert_ignore
from hub.events.codec import DecodeError
from hub.kafka.producer import DeliveryError, OutRecord
from hub.kafka.topics import DEADLETTER, EVENTS, INTAKE
from hub.telemetry.event_traces import remember as remember_traces
from hub.telemetry.metrics import count_deadletters, observe_projected
from hub.telemetry.spans import traced_batch
from projections.child_projector import project_batch
from projections.consent_records import CONSENT_KINDS
from projections.identity.registry import follow_links, registry_for
from projections.identity_batch import resolve_events
from projections.sql_sink import Consumed

log = logging.getLogger(__name__)
BATCH = 2000
WITHIN = 0.1
PROJECTOR = "projector.timeline"


def _headers(event: EventT) -> dict[str, bytes]:
    raw = event.message.headers or []
    items: Any = raw.items() if isinstance(raw, dict) else raw
    return {str(k): (v if isinstance(v, bytes) else str(v).encode()) for k, v in items}


async def _send_with_retry(deps: WorkerDeps, records: list[OutRecord]) -> None:
    """Never skip: a record not yet on the next topic is retried until the broker takes it."""
    delay = 0.2
    while True:
        try:
            await asyncio.to_thread(deps.producer.send_all, records)
            return
        except DeliveryError as exc:
            log.warning("produce failed, retrying in %.1fs: %s", delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def _resolve_batch(deps: WorkerDeps, batch: list[EventT]) -> tuple[list[OutRecord], list[OutRecord]]:
    """Decode, resolve the whole batch's children at once, route on; unusable records are dead-lettered."""
    now = datetime.now(UTC)
    out: list[OutRecord] = []
    bad: list[OutRecord] = []

    def reject(ev: EventT, exc: Exception) -> None:
        reason = f"intake record {ev.message.partition}/{ev.message.offset} unusable: {exc}"
        bad.append(
            OutRecord(
                DEADLETTER,
                ev.key or b"",
                ev.value,
                (
                    ("onestory-connector", b"processor"),
                    ("onestory-phase", b"decode"),
                    ("onestory-reason", reason.encode()),
                    ("onestory-content-type", b"avro/binary"),
                    ("onestory-received-at", now.isoformat().encode()),
                ),
            )
        )

    decoded: list[tuple[EventT, dict[str, Any]]] = []
    for ev in batch:
        try:
            decoded.append((ev, deps.codec.decode(ev.value)))
        except DecodeError as exc:
            reject(ev, exc)
    with deps.engine.begin() as conn:
        children = resolve_events(registry_for(deps), conn, [event for _, event in decoded], now)
        pending = []
        for (ev, event), child in zip(decoded, children, strict=True):
            if isinstance(child, Exception):
                reject(ev, child)
                continue
            event["child_id"] = child
            if event["kind"] in CONSENT_KINDS:
                # From now until the projector applies it, reads of this child fail closed (DESIGN.md §7).
                pending.append({"event_id": event["event_id"], "child_id": child, "queued_at": now})
            out.append(OutRecord(EVENTS, child.encode(), deps.codec.encode(event), tuple(_headers(ev).items())))
        insert_ignore(conn, consent_pending, pending)
    return out, bad


def _store_deadletters(deps: WorkerDeps, batch: list[EventT]) -> int:
    rows = []
    for ev in batch:
        h = _headers(ev)
        rows.append(
            {
                "id": h.get(
                    "onestory-deadletter-id", f"{ev.message.topic}:{ev.message.partition}:{ev.message.offset}".encode()
                ).decode(),
                "received_at": datetime.fromisoformat(h["onestory-received-at"].decode())
                if "onestory-received-at" in h
                else datetime.now(UTC),
                "connector": h.get("onestory-connector", b"unknown").decode(),
                "phase": h.get("onestory-phase", b"unknown").decode(),
                "reason": h.get("onestory-reason", b"no reason recorded").decode(),
                "content_type": h.get("onestory-content-type", b"application/octet-stream").decode(),
                "body": ev.value or b"",
                "status": "held",
                "replayed_at": None,
                "replay_result": None,
            }
        )
    count_deadletters(rows)
    with deps.engine.begin() as conn:
        return insert_ignore(conn, deadletters, rows)


def _append(deps: WorkerDeps, batch: list[EventT]) -> int:
    records = [
        Consumed(ev.message.topic, ev.message.partition, ev.message.offset, ev.value, deps.codec.decode(ev.value))
        for ev in batch
    ]
    follow_links(deps.engine, [r.event for r in records])
    # before the projection commits, so a read that can see an entry can also link to its ingest trace
    remember_traces(deps.engine, [ev.message.headers for ev in batch], [r.event["event_id"] for r in records])
    new = project_batch(deps.engine, deps.policy, deps.rules, PROJECTOR, deps.topic_ids, records)
    observe_projected(PROJECTOR, [r.event for r in records])
    return new


def register(app: faust.App, deps: WorkerDeps) -> None:
    @app.agent(raw_topic(app, INTAKE), name="identity")
    async def identity(stream: faust.StreamT[bytes]) -> None:
        async for batch in stream.take_events(BATCH, within=WITHIN):  # type: ignore[attr-defined]
            with traced_batch("process", "identity", batch, app.consumer) as traced:
                out, bad = await in_thread_retrying("identity", _resolve_batch, deps, batch)
                await _send_with_retry(deps, traced.rewrite(out) + bad)

    @app.agent(raw_topic(app, EVENTS), name="timeline")
    async def timeline(stream: faust.StreamT[bytes]) -> None:
        async for batch in stream.take_events(BATCH, within=WITHIN):  # type: ignore[attr-defined]
            with traced_batch("project", "timeline", batch, app.consumer):
                new = await in_thread_retrying("timeline", _append, deps, batch)
            log.info("timeline: %d new of %d", new, len(batch))

    @app.agent(raw_topic(app, DEADLETTER), name="deadletters")
    async def deadletter_store(stream: faust.StreamT[bytes]) -> None:
        async for batch in stream.take_events(BATCH, within=WITHIN):  # type: ignore[attr-defined]
            await in_thread_retrying("deadletters", _store_deadletters, deps, batch)
