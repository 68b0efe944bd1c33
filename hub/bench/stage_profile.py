"""`onestory bench pipeline --stages`: the worker's CPU per event and step, in process, without a broker.

The end-to-end figures say how fast the pipeline is; this says where the worker's interpreter time goes.
It runs the worker's own step functions (hub/worker/stages.py, hub/worker/hot_path.py) on the bench workload
in batches as the events topic delivers them, with the worker's collector settings, and reports CPU time per
event for identity, decode, projection and feeds. With many children (the full run's 4,000) a batch holds
about one event per child, the regime where per-child work dominates. The first `warm` events (each child's
journey: registrations, consents, referrals) are run but not counted, so the figures are the steady state
(weekly attendance); `--profile STEP` prints cProfile's top functions for that step.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hub.bench.workload import intake_records
from hub.collector import tune_for_service
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.disclosure.decide import ChildContext
from hub.disclosure.decision_memo import DecisionMemo
from hub.disclosure.rules import bundled_rules
from hub.events.codec import EventCodec
from hub.kafka.topics import EVENTS, INTAKE
from hub.outbound.config import OutboundConfig
from hub.policy_files import load_policy
from hub.settings import OutboundSettings
from hub.worker import hot_path, stages
from hub.worker.app import WorkerDeps
from hub.worker.batch_consumer import Message
from hub.worker.decoded import DecodedEvents

STEPS = ("identity", "decode", "projection", "feeds")
BATCH = 5000
PARTITIONS = 6


def run(
    outbound: OutboundSettings,
    children: int,
    rounds: int,
    warm_rounds: int,
    database: str | None = None,
    profile: str | None = None,
    say: Callable[[str], None] = lambda _: None,
    batch_size: int = BATCH,
) -> dict[str, Any]:
    """CPU µs per event for each step over rounds `warm_rounds`..`rounds` of `children` children's events."""
    codec = EventCodec.load()
    records = list(intake_records(codec, children, rounds, 1))
    with tempfile.TemporaryDirectory(prefix="onestory-stages-") as tmp:
        engine = make_engine(database or f"sqlite:///{Path(tmp) / 'stages.db'}")
        upgrade(engine)
        # no producer: the steps' functions are called directly, what they would publish is handed on here
        deps = WorkerDeps(engine, codec, None, {INTAKE: "intake", EVENTS: "events"}, load_policy(), bundled_rules())  # type: ignore[arg-type]
        offsets: dict[tuple[str, int], int] = {}

        def message(topic: str, key: bytes, value: bytes) -> Message:
            partition = zlib.crc32(key) % PARTITIONS
            offset = offsets[(topic, partition)] = offsets.get((topic, partition), -1) + 1
            return Message(topic, partition, offset, key, value, [])

        intake = [message(INTAKE, r.key, r.value) for r in records]
        feed = hot_path._feeder(deps, OutboundConfig.load(outbound))  # the subscribers and alerts the worker has
        memo, decoded, contexts = DecisionMemo(), DecodedEvents(), dict[str, ChildContext]()
        profiler = cProfile.Profile() if profile else None
        spent = dict.fromkeys(STEPS, 0.0)
        counted = 0
        warm = children * warm_rounds
        tune_for_service()
        for start in range(0, len(intake), batch_size):
            batch = intake[start : start + batch_size]
            timed = start >= warm
            clock: dict[str, float] = {}

            def step(
                name: str, fn: Callable[..., Any], *args: Any, timed: bool = timed, clock: dict[str, float] = clock
            ) -> Any:
                on = profiler is not None and timed and profile == name
                if on:
                    profiler.enable()  # type: ignore[union-attr]
                t0 = time.process_time()
                out = fn(*args)
                clock[name] = time.process_time() - t0
                if on:
                    profiler.disable()  # type: ignore[union-attr]
                return out

            out, bad = step("identity", stages.resolve_batch, deps, batch, decoded)
            if bad:
                raise RuntimeError(f"{len(bad)} bench record(s) dead-lettered")
            events = [message(EVENTS, o.key, o.value) for o in out]
            consumed = step("decode", stages.consumed, deps, events, decoded)
            step("projection", stages.project, deps, consumed, [m.headers for m in events], memo, contexts)
            step("feeds", feed, consumed, contexts)
            if timed:
                counted += len(batch)
                for name, seconds in clock.items():
                    spent[name] += seconds
            say(f"{start + len(batch)} of {len(intake)} events")
        engine.dispose()
    per_event = {name: seconds / max(counted, 1) * 1e6 for name, seconds in spent.items()}
    result: dict[str, Any] = {
        "children": children,
        "events": len(intake),
        "counted_events": counted,
        "batch": batch_size,
        "cpu_us_per_event": per_event,
        "cpu_us_per_event_total": sum(per_event.values()),
    }
    if profiler is not None and counted:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
        result["profile"] = text.getvalue()
    return result
