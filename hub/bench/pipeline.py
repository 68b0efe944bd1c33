"""`onestory bench pipeline`: end-to-end figures on the embedded broker, beside baselines from the same run.

Everything runs for real: the embedded broker, the real `onestory worker` subprocess (identity → events →
projections), SQLite or PostgreSQL. Timings come from the SQL side (what a reader could see), polled often.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from hub.bench import baselines
from hub.bench.workload import CAMHS, IntakeRecord, _event, intake_records, nhs_numbers
from hub.db.engine import make_engine
from hub.db.feed_tables import outbound_outbox
from hub.db.migrate import upgrade
from hub.db.projection_tables import consent_pending, consent_records
from hub.db.tables import event_store, tracking
from hub.disclosure.rules import bundled_rules
from hub.events.codec import EventCodec
from hub.kafka.embedded_broker import EmbeddedBroker, free_port
from hub.kafka.producer import DurableProducer, OutRecord
from hub.kafka.topics import INTAKE, ensure_topics
from hub.outbound.feeds import FEEDS
from hub.policy_files import load_policy
from hub.process_control import die_with_parent, stop_process
from hub.worker.stages import PROJECTOR
from projections.rebuild import rebuild

RAW_TOPIC = "bench.raw.v1"


@dataclass(frozen=True)
class PipelineConfig:
    children: int
    per_child: int
    seed: int
    database: str
    workdir: Path
    partitions: int = 6
    latency_rate: int = 1000
    latency_seconds: float = 10.0
    withdrawals: int = 20
    withdrawal_child_events: int = 1000
    naive_events: int = 5000
    workers: int = 1
    # processes per worker, each with its hot-path steps: "identity,timeline,outbound" is one process with all
    layout: tuple[str, ...] = ("identity,timeline,outbound",)

    @property
    def processes(self) -> int:
        return self.workers * len(self.layout)

    @classmethod
    def quick(
        cls, database: str, workdir: Path, seed: int = 1, workers: int = 1, layout: tuple[str, ...] | None = None
    ) -> PipelineConfig:
        return cls(
            children=400,
            per_child=50,
            seed=seed,
            database=database,
            workdir=workdir,
            latency_seconds=5.0,
            withdrawals=10,
            naive_events=2000,
            workers=workers,
            layout=layout or cls.layout,
        )

    @classmethod
    def full(
        cls, database: str, workdir: Path, seed: int = 1, workers: int = 1, layout: tuple[str, ...] | None = None
    ) -> PipelineConfig:
        return cls(
            children=4000,
            per_child=50,
            seed=seed,
            database=database,
            workdir=workdir,
            workers=workers,
            layout=layout or cls.layout,
        )


def machine_info() -> dict[str, Any]:
    import fastavro
    import faust
    import sqlalchemy

    mem = (
        next(
            (line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")),
            "?",
        )
        if Path("/proc/meminfo").exists()
        else "?"
    )
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "memory_kib": mem,
        "faust": faust.__version__,
        "fastavro": fastavro.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(event_store)).scalar_one())


def _wait_count(engine: Engine, target: int, timeout: float, tick: Callable[[int], None] | None = None) -> float:
    t0 = time.perf_counter()
    while True:
        n = _count(engine)
        if tick:
            tick(n)
        if n >= target:
            return time.perf_counter() - t0
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError(f"only {n} of {target} events committed after {timeout:.0f}s")
        time.sleep(0.05)


def _feeds_drained(engine: Engine) -> bool:
    """The outbound feeds have decided every projected event, and the relay has published every record."""
    with engine.connect() as conn:
        offsets = {
            (r.consumer, r.topic_id, r.partition): r.last_offset
            for r in conn.execute(select(tracking)).all()
            if r.consumer in (PROJECTOR, FEEDS)
        }
        unsent = conn.execute(
            select(func.count()).select_from(outbound_outbox).where(outbound_outbox.c.sent_at.is_(None))
        ).scalar_one()
    projected = {(t, p): o for (c, t, p), o in offsets.items() if c == PROJECTOR}
    return unsent == 0 and all(offsets.get((FEEDS, t, p), -1) >= o for (t, p), o in projected.items())


def _wait_drained(engine: Engine, timeout: float) -> float:
    t0 = time.perf_counter()
    while not _feeds_drained(engine):
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError(f"outbound feeds not drained after {timeout:.0f}s")
        time.sleep(0.05)
    return time.perf_counter() - t0


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Worker:
    """The real `onestory worker` as a subprocess, with its peak memory read from /proc."""

    def __init__(
        self,
        bootstrap: str,
        database: str,
        workdir: Path,
        name: str = "worker",
        steps: str = "identity,timeline,outbound",
    ) -> None:
        self.port = free_port()
        scratch = workdir / name
        scratch.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hub",
                "worker",
                "--kafka",
                bootstrap,
                "--database",
                database,
                "--data-dir",
                str(scratch),
                "--web-port",
                str(self.port),
                "--steps",
                steps,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(workdir / f"{name}.log").open("w"),
            preexec_fn=die_with_parent,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("the worker exited during start-up (see its log in the work dir)")
            time.sleep(0.25)
        raise TimeoutError("the worker did not become ready")

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        stop_process(self.proc, 15, 10.0)


def _send(producer: DurableProducer, records: list[IntakeRecord]) -> None:
    for i in range(0, len(records), 10000):
        producer.send_all([OutRecord(INTAKE, r.key, r.value) for r in records[i : i + 10000]], timeout=120)


def measure_latency(
    producer: DurableProducer, engine: Engine, records: list[IntakeRecord], rate: int, seconds: float
) -> dict[str, float]:
    """Offer `rate` events/s for `seconds`; latency = first seen in the event store − acknowledged send."""
    todo = records[: int(rate * seconds)]
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    with engine.connect() as conn:
        last_seq = conn.execute(select(func.coalesce(func.max(event_store.c.seq), 0))).scalar_one()
    t0 = time.perf_counter()
    step = max(1, rate // 50)  # send in 20 ms slices
    for i in range(0, len(todo), step):
        due = t0 + i / rate
        while time.perf_counter() < due:
            time.sleep(0.001)
        chunk = todo[i : i + step]
        producer.send_all([OutRecord(INTAKE, r.key, r.value) for r in chunk])
        now = time.perf_counter()
        sent.update((r.event_id, now) for r in chunk)
        last_seq = _poll_seen(engine, last_seq, seen)
    deadline = time.perf_counter() + 30
    while len(seen) < len(sent) and time.perf_counter() < deadline:
        time.sleep(0.01)
        last_seq = _poll_seen(engine, last_seq, seen)
    latencies = [max(0.0, seen[k] - sent[k]) for k in sent if k in seen]
    return {
        "offered_events_per_s": rate,
        "events": len(sent),
        "seen": len(latencies),
        "p50_ms": _percentile(latencies, 50) * 1000,
        "p95_ms": _percentile(latencies, 95) * 1000,
        "p99_ms": _percentile(latencies, 99) * 1000,
    }


def _poll_seen(engine: Engine, last_seq: int, seen: dict[str, float]) -> int:
    with engine.connect() as conn:
        rows = conn.execute(select(event_store.c.seq, event_store.c.event_id).where(event_store.c.seq > last_seq)).all()
    now = time.perf_counter()
    for seq, event_id in rows:
        seen.setdefault(event_id, now)
        last_seq = max(last_seq, seq)
    return last_seq


def measure_withdrawal(
    producer: DurableProducer, engine: Engine, codec: EventCodec, cfg: PipelineConfig
) -> dict[str, float]:
    """A child with many events; repeatedly withdraw and give consent; time until re-projected (applied)."""
    import random

    nhs = nhs_numbers(random.Random(cfg.seed + 99), 1)[0]
    from hub.bench.workload import child_events

    events = child_events(nhs, random.Random(cfg.seed + 98), cfg.withdrawal_child_events)
    before = _count(engine)
    _send(
        producer, [IntakeRecord(e["source"]["record_id"].encode(), codec.encode(e), e["event_id"], 0) for e in events]
    )
    _wait_count(engine, before + len(events), 300)
    timings = []
    for k in range(cfg.withdrawals):
        status = "withdrawn" if k % 2 == 0 else "given"
        consent_id = f"W-{nhs}-{k}"
        fields = {
            "consent_id": consent_id,
            "status": status,
            "given_by": "young-person",
            "competent": True,
            "recipient_organisation_types": ["school"],
            "recorded_by": "camhs-clinician",
        }
        if status == "given":
            fields |= {"categories": ["attendance"], "purposes": ["direct-care"]}
        e = _event(
            nhs,
            CAMHS,
            f"consent.{status}",
            "consent",
            "Consent",
            fields,
            datetime.now(UTC) - timedelta(seconds=1),
            9000 + k,
            ("consent", None),
        )
        t0 = time.perf_counter()
        producer.send_all([OutRecord(INTAKE, e["source"]["record_id"].encode(), codec.encode(e))])
        while True:
            with engine.connect() as conn:
                applied = (
                    conn.execute(
                        select(consent_records.c.consent_id).where(consent_records.c.consent_id == consent_id)
                    ).first()
                    is not None
                )
                pending = conn.execute(select(func.count()).select_from(consent_pending)).scalar_one()
            if applied and not pending:
                break
            if time.perf_counter() - t0 > 30:
                raise TimeoutError("consent change not re-projected within 30 s")
            time.sleep(0.005)
        timings.append(time.perf_counter() - t0)
    return {
        "child_events": len(events),
        "changes": len(timings),
        "p50_ms": _percentile(timings, 50) * 1000,
        "p99_ms": _percentile(timings, 99) * 1000,
        "max_ms": max(timings) * 1000,
    }


def run(
    cfg: PipelineConfig, say: Callable[[str], None], bar: Callable[[str, int], Callable[[int], None]]
) -> dict[str, Any]:
    """Run every measurement; `bar(label, total)` returns a progress callback taking the current count."""
    results: dict[str, Any] = {
        "machine": machine_info(),
        "config": {k: str(v) for k, v in asdict(cfg).items()},
        "database": cfg.database.split(":", 1)[0],
        "workers": cfg.workers,
        "layout": list(cfg.layout),
        "baselines": {},
        "figures": {},
    }
    codec = EventCodec.load()
    say("generating the workload")
    records = list(intake_records(codec, cfg.children, cfg.per_child, cfg.seed))
    n = len(records)
    with EmbeddedBroker() as broker:
        bs = broker.bootstrap
        ensure_topics(bs, cfg.partitions)
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": bs})  # keep a reference: the future dies with its client
        admin.create_topics([NewTopic(RAW_TOPIC, cfg.partitions, 1)])[RAW_TOPIC].result(15)
        say(f"baselines over {n} events")
        baselines.load_topic(bs, RAW_TOPIC, [(r.key, r.value) for r in records])
        b = results["baselines"]
        b["raw_consume_events_per_s"] = baselines.raw_consume_rate(bs, RAW_TOPIC, n)
        b["fastavro_decode_events_per_s"] = baselines.decode_rate(codec, [r.value for r in records])
        engine = make_engine(cfg.database)
        upgrade(engine)
        b["batched_projector_events_per_s"] = baselines.batched_projector_rate(bs, RAW_TOPIC, n, cfg.database, codec)
        b["naive_faust_events_per_s"] = baselines.naive_faust_rate(
            bs, RAW_TOPIC, min(n, cfg.naive_events), cfg.database, cfg.workdir, free_port()
        )
        say(f"starting {cfg.workers} real worker(s) as {cfg.processes} process(es): {' | '.join(cfg.layout)}")
        workers = [
            Worker(bs, cfg.database, cfg.workdir, f"worker-{i}-{j}", steps)
            for i in range(cfg.workers)
            for j, steps in enumerate(cfg.layout)
        ]
        try:
            for worker in workers:
                worker.wait_ready()
            producer = DurableProducer(bs, client_id="bench")
            say(f"sustained: {n} events from intake to committed projections")
            tick = bar("sustained", n)
            t0 = time.perf_counter()
            _send(producer, records)
            _wait_count(engine, n, 900, tick)
            elapsed = time.perf_counter() - t0
            f = results["figures"]
            f["sustained_events_per_s"] = n / elapsed
            f["sustained_events"] = n
            say("waiting for the outbound feeds and their relay to drain")
            _wait_drained(engine, 900)
            f["sustained_with_feeds_events_per_s"] = n / (time.perf_counter() - t0)
            say(f"latency at {cfg.latency_rate} events/s for {cfg.latency_seconds:.0f}s")
            fresh = list(
                intake_records(
                    codec,
                    max(1, int(cfg.latency_rate * cfg.latency_seconds) // cfg.per_child + 1),
                    cfg.per_child,
                    cfg.seed + 1,
                )
            )
            f["latency"] = measure_latency(producer, engine, fresh, cfg.latency_rate, cfg.latency_seconds)
            say(f"consent withdrawal on a child with {cfg.withdrawal_child_events} events")
            f["consent_reprojection"] = measure_withdrawal(producer, engine, codec, cfg)
            f["worker_peak_rss_mib"] = max(w.peak_rss_mib() for w in workers)
        finally:
            for worker in workers:
                worker.stop()
        # PostgreSQL rebuilds child ranges in a process per core; SQLite has one writer, so one process
        processes = 1 if engine.dialect.name == "sqlite" else max(1, os.cpu_count() or 1)
        say(f"full rebuild from the event store ({processes} process(es))")
        total = _count(engine)
        tick = bar("rebuild", 0)
        t0 = time.perf_counter()
        done = rebuild(
            engine,
            codec,
            load_policy(),
            bundled_rules(),
            chunk=200,
            on_progress=lambda p: tick(p.events_done),
            processes=processes,
        )
        f["rebuild_events_per_s"] = done.events_done / (time.perf_counter() - t0)
        f["rebuild_events"] = total
        f["rebuild_processes"] = processes
        engine.dispose()
    import resource

    f["bench_process_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    b = results["baselines"]
    results["ratios"] = {
        "sustained_vs_batched_projector": f["sustained_events_per_s"] / b["batched_projector_events_per_s"],
        "sustained_with_feeds_vs_batched_projector": f["sustained_with_feeds_events_per_s"]
        / b["batched_projector_events_per_s"],
        "sustained_vs_naive_faust": f["sustained_events_per_s"] / max(b["naive_faust_events_per_s"], 1e-9),
        "sustained_vs_raw_consume": f["sustained_events_per_s"] / b["raw_consume_events_per_s"],
        "rebuild_vs_batched_projector": f["rebuild_events_per_s"] / b["batched_projector_events_per_s"],
    }
    return results
