"""The work of each pipeline step on one batch: identity (intake → events), projection (+ outbound feeds)
and dead-letter keeping. Runners (hub/worker/hot_path.py, hub/worker/agents.py) call these; they do no
Kafka consuming themselves, so one function serves the batched consumer and a Faust agent alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import DBAPIError

from hub import retry
from hub.db.projection_tables import consent_pending
from hub.db.tables import deadletters
from hub.db.transient import is_transient
from hub.db.upsert import insert_ignore, insert_ignore_all
from hub.db.write_lock import serial_if_sqlite
from hub.disclosure.consent_records import CONSENT_STATE_KINDS
from hub.disclosure.decide import ChildContext
from hub.disclosure.decision_memo import DecisionMemo
from hub.events.child_id import ChildIdWriter
from hub.events.codec import DecodeError
from hub.kafka.producer import DeliveryError, OutRecord
from hub.kafka.topics import DEADLETTER, EVENTS
from hub.telemetry.event_traces import remember as remember_traces
from hub.telemetry.metrics import count_deadletters, observe_projected
from hub.telemetry.spans import ConsumedEvent
from hub.worker.app import WorkerDeps
from hub.worker.decoded import DecodedEvents
from projections.child_projector import project_batch
from projections.identity.batch import resolve_events
from projections.identity.registry import follow_links, registry_for
from projections.sql_sink import Consumed, collection_paused

log = logging.getLogger(__name__)
PROJECTOR = "projector.timeline"
T = TypeVar("T")


class Record(ConsumedEvent, Protocol):
    """A consumed record (hub.worker.batch_consumer.Message: the batched consumer's, or a Faust event converted)."""

    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


def headers_of(record: Record) -> dict[str, bytes]:
    raw = record.headers
    if not raw:
        return {}
    items: Any = raw.items() if isinstance(raw, dict) else raw
    return {str(k): (v if isinstance(v, bytes) else str(v).encode()) for k, v in items}


def retrying(what: str, fn: Callable[..., T], *args: Any, stopping: Callable[[], bool] = lambda: False) -> T:
    """Run fn(*args) until it succeeds on a transient database error or a refused produce; never skip a batch.

    Anything else raises: the worker stops, `onestory up` (or Kubernetes) restarts it, and the batch is read
    again from the tracked offsets.
    """
    return retry.retrying(what, fn, *args, again=_worth_another_try, first=0.05, most=5.0, stopping=stopping)


def _worth_another_try(what: str, exc: Exception, delay: float) -> bool:
    if isinstance(exc, DBAPIError) and is_transient(exc):
        log.warning("%s: transient database error (%s), retrying in %.2fs", what, type(exc.orig).__name__, delay)
        return True
    if isinstance(exc, DeliveryError):
        log.warning("%s: produce failed, retrying in %.2fs: %s", what, delay, exc)
        return True
    return False


def _deadletter(record: Record, reason: str, now: datetime) -> OutRecord:
    return OutRecord(
        DEADLETTER,
        record.key or b"",
        record.value or b"",
        (
            ("onestory-connector", b"processor"),
            ("onestory-phase", b"decode"),
            ("onestory-reason", reason.encode()),
            ("onestory-content-type", b"avro/binary"),
            ("onestory-received-at", now.isoformat().encode()),
        ),
    )


def resolve_batch(
    deps: WorkerDeps, batch: Sequence[Record], decoded: DecodedEvents | None = None
) -> tuple[list[OutRecord], list[OutRecord]]:
    """Decode, resolve the whole batch's children at once, route on; unusable records are dead-lettered.
    `decoded`: where the projection step of this process finds the events without decoding them again."""
    now = datetime.now(UTC)
    bad: list[OutRecord] = []

    def reject(rec: Record, exc: Exception) -> None:
        where = f"{rec.partition}/{rec.offset}"
        bad.append(_deadletter(rec, f"intake record {where} unusable: {exc}", now))

    usable: list[tuple[Record, dict[str, Any]]] = []
    for rec in batch:
        try:
            usable.append((rec, deps.codec.decode(rec.value or b"")))
        except DecodeError as exc:
            reject(rec, exc)
    out: list[OutRecord] = []
    writer = ChildIdWriter(deps.codec)
    with serial_if_sqlite(deps.engine), deps.engine.begin() as conn:
        children = resolve_events(registry_for(deps), conn, [event for _, event in usable], now)
        pending = []
        events = []
        for (rec, event), child in zip(usable, children, strict=True):
            if isinstance(child, Exception):
                reject(rec, child)
                continue
            events.append(event)
            if event["kind"] in CONSENT_STATE_KINDS:  # a consent or competence change
                # From now until the projector applies it, reads of this child fail closed (DESIGN.md §7).
                pending.append({"event_id": event["event_id"], "child_id": child, "queued_at": now})
            value = writer.encode(rec.value or b"", event, child)
            out.append(OutRecord(EVENTS, child.encode(), value, tuple(headers_of(rec).items())))
        insert_ignore_all(conn, consent_pending, pending)
    if decoded is not None:
        decoded.put((record.value, event) for record, event in zip(out, events, strict=True))
    return out, bad


def consumed(deps: WorkerDeps, batch: Sequence[Record], decoded: DecodedEvents | None = None) -> list[Consumed]:
    """Decode a batch of events-topic records (the garbage collector paused meanwhile: see collection_paused),
    taking from `decoded` the events this process's identity step has just decoded and published."""
    decode = deps.codec.decode
    values = [r.value or b"" for r in batch]
    known = decoded.take(values) if decoded is not None else [None] * len(values)
    with collection_paused():
        return [
            Consumed(r.topic, r.partition, r.offset, value, event if event is not None else decode(value))
            for r, value, event in zip(batch, values, known, strict=True)
        ]


def project(
    deps: WorkerDeps,
    records: Sequence[Consumed],
    headers: Sequence[Any],
    memo: DecisionMemo | None = None,
    contexts: dict[str, ChildContext] | None = None,
) -> int:
    """Event store and every projection, one transaction; returns how many events were new. `memo`: the
    step's decisions from earlier batches (hub.disclosure.decision_memo); `contexts` is filled with the
    touched children's consent-engine inputs as committed, for the feeds of the same batch."""
    if contexts is not None:
        contexts.clear()  # a retried batch hands over only what its committed attempt left
    with collection_paused():
        follow_links(deps.engine, [r.event for r in records])
        with serial_if_sqlite(deps.engine):
            # before the projection commits, so a read that can see an entry can also link to its ingest trace
            remember_traces(deps.engine, headers, [r.event["event_id"] for r in records])
            new = project_batch(
                deps.engine, deps.policy, deps.rules, PROJECTOR, deps.topic_ids, records, memo, contexts
            )
        observe_projected(PROJECTOR, [r.event for r in records])
    return new


def store_deadletters(deps: WorkerDeps, batch: Sequence[Record]) -> int:
    rows = []
    for rec in batch:
        h = headers_of(rec)
        m = rec
        rows.append(
            {
                "id": h.get("onestory-deadletter-id", f"{m.topic}:{m.partition}:{m.offset}".encode()).decode(),
                "received_at": datetime.fromisoformat(h["onestory-received-at"].decode())
                if "onestory-received-at" in h
                else datetime.now(UTC),
                "connector": h.get("onestory-connector", b"unknown").decode(),
                "phase": h.get("onestory-phase", b"unknown").decode(),
                "reason": h.get("onestory-reason", b"no reason recorded").decode(),
                "content_type": h.get("onestory-content-type", b"application/octet-stream").decode(),
                "body": rec.value or b"",
                "status": "held",
                "replayed_at": None,
                "replay_result": None,
            }
        )
    count_deadletters(rows)
    with serial_if_sqlite(deps.engine), deps.engine.begin() as conn:
        return insert_ignore(conn, deadletters, rows)
