"""The high-volume path inside the worker: batched confluent-kafka consumers, one thread per step.

intake → identity → events topic (keyed by child) → event store and projections, then outbound feeds.

What a step of this process already knows is handed on, never read back: identity's decoded events go to
the projection (hub/worker/decoded.py, keyed by the published bytes), the projection's per-child consent
inputs to the feeds of the same batch, and each step keeps its children's decisions across batches while
they hold (hub/disclosure/decision_memo.py). The topics and SQL stay the truth: whatever is not handed
over (another process's records, a restart) is decoded and read as before.

A worker runs every step by default, the feeds on the projection thread right after each batch commits.
`onestory worker --steps` runs a subset, so the steps can be separate processes (and deployments) that
scale and use cores independently: one CPython process runs Python on one core at a time, whatever its
threads. The outbound step in a process without the projection step waits, per batch, until the
projector's SQL tracking has passed the batch, so what it reads always includes it.

Faust still runs the worker (lifecycle, the dead-letter agent, timers, health page), but its per-event
machinery and its lock-step pausing of agents that share a topic cost far more than the work (DESIGN.md,
"Where the time goes"), so these two steps consume in whole batches themselves. Each step is a member of
its own consumer group, so more workers share the partitions; offsets are tracked in SQL in the same
transaction as the rows, and committed to Kafka afterwards only to shorten what a restart re-reads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from hub.db.write_lock import serial_if_sqlite
from hub.disclosure.decide import ChildContext
from hub.disclosure.decision_memo import DecisionMemo
from hub.kafka.topics import EVENTS, INTAKE
from hub.outbound import feeds
from hub.outbound.config import OutboundConfig
from hub.outbound.feed_codec import FeedCodec
from hub.telemetry.spans import traced_batch
from hub.worker.app import WorkerDeps
from hub.worker.batch_consumer import BatchConsumer, ConsumerSettings, Message
from hub.worker.decoded import DecodedEvents
from hub.worker.stages import PROJECTOR, consumed, project, resolve_batch, retrying
from projections.sql_sink import Consumed, collection_paused, tracked_offsets

log = logging.getLogger(__name__)
STEPS = ("identity", "timeline", "outbound")
BATCH = 5000
POLL_SECONDS = 0.2  # how long a quiet step waits for a record before checking whether it should stop


@dataclass
class Step:
    """One consumer group and what it does with each batch."""

    name: str  # span step and consumer-group suffix
    topic: str
    handle: Callable[[Sequence[Message]], None]


def identity_step(deps: WorkerDeps, stopping: Callable[[], bool], decoded: DecodedEvents | None = None) -> Step:
    """Intake → events keyed by child. `decoded`: the projection step of this process takes the events from
    there instead of decoding them again (hub/worker/decoded.py)."""

    def handle(batch: Sequence[Message]) -> None:
        with traced_batch("process", "identity", batch) as traced:
            out, bad = retrying("identity", resolve_batch, deps, batch, decoded, stopping=stopping)
            retrying("identity", deps.producer.send_all, traced.rewrite(out) + bad, stopping=stopping)

    return Step("identity", INTAKE, handle)


def projection_step(
    deps: WorkerDeps,
    stopping: Callable[[], bool],
    outbound: OutboundConfig | None = None,
    decoded: DecodedEvents | None = None,
) -> Step:
    """Projection, then the outbound feeds of the same batch on the same thread: the feeds read projections
    that include the batch, and one thread fewer competes for the interpreter (measured: as fast as feeds on
    a thread of their own, with lower latency, docs/scaling.md)."""
    feed = _feeder(deps, outbound) if outbound is not None else None
    memo = DecisionMemo()
    contexts: dict[str, ChildContext] = {}  # the children's inputs as the projection left them, for the feeds

    def handle(batch: Sequence[Message]) -> None:
        with traced_batch("project", "timeline", batch):
            records = consumed(deps, batch, decoded)
            headers = [m.headers for m in batch]
            new = retrying("timeline", project, deps, records, headers, memo, contexts, stopping=stopping)
        sent = retrying("outbound", feed, records, contexts, stopping=stopping) if feed is not None else 0
        contexts.clear()
        log.info("timeline: %d new of %d; outbound: %d record(s) queued", new, len(batch), sent)

    return Step("timeline", EVENTS, handle)


def outbound_step(deps: WorkerDeps, outbound: OutboundConfig, stopping: Callable[[], bool]) -> Step:
    """Feeds for a batch once the projector (in whichever process) has committed it. Its own consumer group,
    tracked as the same `outbound.feeds` consumer as feeds on the projection thread."""
    feed = _feeder(deps, outbound)

    def handle(batch: Sequence[Message]) -> None:
        records = consumed(deps, batch)
        delay = 0.005
        while not retrying("outbound", projector_caught_up, deps, records, stopping=stopping):
            if stopping():
                raise InterruptedError("outbound: stopped while waiting for the projector")
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
        sent = retrying("outbound", feed, records, None, stopping=stopping)
        log.info("outbound: %d record(s) queued for %d event(s)", sent, len(batch))

    return Step("outbound", EVENTS, handle)


def projector_caught_up(deps: WorkerDeps, records: Sequence[Consumed]) -> bool:
    """The projector has tracked every (topic, partition) of the batch at or past the batch's offsets."""
    wanted: dict[tuple[str, int], int] = {}
    for rec in records:
        wanted[(rec.topic, rec.partition)] = max(wanted.get((rec.topic, rec.partition), -1), rec.offset)
    with deps.engine.connect() as conn:
        tracked = {topic: tracked_offsets(conn, PROJECTOR, deps.topic_ids[topic]) for topic, _ in wanted}
    return all(tracked[topic].get(partition, -1) >= offset for (topic, partition), offset in wanted.items())


def check_steps(names: Sequence[str]) -> tuple[str, ...]:
    """The one place that knows the step names: ValueError naming the choices for an unknown or empty list."""
    unknown = sorted(set(names) - set(STEPS))
    if unknown or not names:
        given = ", ".join(unknown) or "none"
        raise ValueError(f"unknown worker step(s): {given}; choose one or more of {','.join(STEPS)}")
    return tuple(names)


def parse_steps(text: str) -> tuple[str, ...]:
    """`identity,timeline` (ONESTORY_WORKER_STEPS, `onestory worker --steps`) as checked step names."""
    return check_steps([n.strip() for n in text.split(",") if n.strip()])


def steps_for(
    names: Sequence[str], deps: WorkerDeps, stopping: Callable[[], bool], outbound: OutboundConfig | None
) -> list[Step]:
    """The hot-path steps one worker runs. With both `timeline` and `outbound`, the feeds ride on the
    projection thread (no second decode, no wait); `outbound` alone is a step of its own. With both
    `identity` and `timeline`, the projection takes identity's decoded events (hub/worker/decoded.py)."""
    check_steps(names)
    chosen: list[Step] = []
    decoded = DecodedEvents() if "identity" in names and "timeline" in names else None
    if "identity" in names:
        chosen.append(identity_step(deps, stopping, decoded))
    feeds_here = outbound if "outbound" in names else None
    if "timeline" in names:
        chosen.append(projection_step(deps, stopping, feeds_here, decoded))
    elif feeds_here is not None:
        chosen.append(outbound_step(deps, feeds_here, stopping))
    return chosen


def _feeder(
    deps: WorkerDeps, outbound: OutboundConfig
) -> Callable[[Sequence[Consumed], Mapping[str, ChildContext] | None], int]:
    """The outbound feeds of one batch, with the step's own decision memo (hub.disclosure.decision_memo)."""
    codec = FeedCodec.load()
    memo = DecisionMemo()

    def feed(records: Sequence[Consumed], contexts: Mapping[str, ChildContext] | None = None) -> int:
        with collection_paused(), serial_if_sqlite(deps.engine):  # as the projection: one collection per batch
            return feeds.process_batch(
                deps.engine, deps.policy, outbound, codec, deps.topic_ids, records, contexts, memo
            )

    return feed


class HotPath:
    """Runs each step's consume → handle → commit loop on its own thread until `stop()`.

    A step that raises stops the whole hot path and is re-raised from `wait()`, so the worker exits and
    is restarted: a batch is never skipped.
    """

    def __init__(
        self,
        bootstrap: str,
        group: str,
        steps: list[Step],
        session_timeout_s: float = 10.0,
        security: Mapping[str, str] | None = None,
    ) -> None:
        self.steps = steps
        self._stop = threading.Event()
        self._errors: list[BaseException] = []
        self._consumers = [
            BatchConsumer(
                ConsumerSettings(bootstrap, f"{group}.{s.name}", s.topic, session_timeout_s, security=security)
            )
            for s in steps
        ]
        self._threads = [
            threading.Thread(target=self._run, args=(step, consumer), name=f"hot-path-{step.name}", daemon=True)
            for step, consumer in zip(steps, self._consumers, strict=True)
        ]

    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        for t in self._threads:
            t.start()

    @property
    def ready(self) -> bool:
        """Every step's consumer has partitions (the helm chart runs no more workers than partitions)."""
        return all(c.assigned > 0 for c in self._consumers)

    def _run(self, step: Step, consumer: BatchConsumer) -> None:
        try:
            while not self._stop.is_set():
                batch = consumer.poll(BATCH, POLL_SECONDS)
                if not batch:
                    continue
                step.handle(batch)
                consumer.commit(batch)
                consumer.observe_lag(batch)
        except InterruptedError:
            pass  # stop() was called while a batch was being retried; it is read again after the restart
        except BaseException as exc:  # noqa: BLE001 - handed to wait(), which re-raises it in the worker
            log.error("hot path step %s failed: %s", step.name, type(exc).__name__)
            self._errors.append(exc)
            self._stop.set()
        finally:
            consumer.close()

    def stop(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> None:
        """Block until every step has stopped; re-raise the first failure."""
        for t in self._threads:
            t.join(timeout)
        if self._errors:
            raise self._errors[0]
