"""`onestory bench read`: timeline read latency under concurrency, over real HTTP, with the audit write included.

A child with N timeline entries is built through the real write path (identity registry → `project_batch`),
the real `onestory api` is started as a subprocess on a free loopback port, and closed-loop clients read
through aiohttp. Every read is consent-checked and audited before its response leaves, exactly as in
production; the bench checks that the audit log grew by one record per read. Baselines from the same run:
an unauthenticated `/healthz` round-trip at the same concurrency (HTTP + one trivial query) and the same read
with one client (no queueing).
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from hub.auth.tokens import issue_token, load_or_create_signing_key
from hub.bench.workload import GP, child_events, nhs_numbers
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.db.tables import audit_log, timeline_entries
from hub.disclosure.rules import bundled_rules
from hub.events.codec import EventCodec
from hub.kafka.embedded_broker import free_port
from hub.kafka.topics import EVENTS
from hub.policy_files import load_policy
from hub.process_control import die_with_parent, stop_process
from projections.child_projector import project_batch
from projections.identity.batch import resolve_events
from projections.identity.registry import registry_for
from projections.sql_sink import Consumed

Tick = Callable[[int], None]


@dataclass(frozen=True)
class ReadConfig:
    database: str
    workdir: Path
    entries: int = 500
    clients: int = 50
    requests: int = 3000
    single_requests: int = 300
    workers: int = 1
    seed: int = 1

    @classmethod
    def quick(cls, database: str, workdir: Path, **given: Any) -> ReadConfig:
        return cls(database, workdir, **({"requests": 500, "single_requests": 60} | given))


def machine_info() -> dict[str, Any]:
    import fastapi
    import sqlalchemy
    import uvicorn

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "fastapi": fastapi.__version__,
        "uvicorn": uvicorn.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def project_child(engine: Engine, events: list[dict[str, Any]]) -> str:
    """Resolve one child's events through the identity registry and project them as the worker does."""
    codec, policy, rules = EventCodec.load(), load_policy(None), bundled_rules()
    registry = registry_for(SimpleNamespace(codec=codec, policy=policy, rules=rules))
    with engine.begin() as conn:
        resolved = resolve_events(registry, conn, events, datetime.now(UTC))
    child_ids = {c for c in resolved if isinstance(c, str)}
    if len(child_ids) != 1 or len(resolved) != len(events):
        raise RuntimeError(f"identity resolved the child's events to {resolved[:3]}…")
    child_id = child_ids.pop()
    topic_id = f"bench-read-{uuid.uuid4()}"
    for start in range(0, len(events), 1000):
        batch = []
        for offset, event in enumerate(events[start : start + 1000], start):
            body = codec.encode(event | {"child_id": child_id})
            batch.append(Consumed(EVENTS, 0, offset, body, codec.decode(body)))
        project_batch(engine, policy, rules, "projector.timeline", {EVENTS: topic_id}, batch)
    return child_id


def build_child(database: str, entries: int, seed: int) -> tuple[str, int]:
    """One child with `entries` events through identity resolution and the real projector; (child id, rows).

    Re-running against the same database finds the same child (same NHS number) and adds nothing new.
    """
    engine = make_engine(database)
    try:
        upgrade(engine)
        rng = random.Random(seed)
        nhs = nhs_numbers(rng, 1)[0]
        child_id = project_child(engine, child_events(nhs, rng, entries))
        with engine.connect() as conn:
            rows = conn.execute(
                select(func.count()).select_from(timeline_entries).where(timeline_entries.c.child_id == child_id)
            ).scalar_one()
        return child_id, int(rows)
    finally:
        engine.dispose()


class Api:
    """The real `onestory api` (uvicorn) as a subprocess on a free loopback port."""

    def __init__(self, database: str, workdir: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = os.environ | {
            "ONESTORY_DATABASE": database,
            "ONESTORY_DATA_DIR": str(workdir),
            "ONESTORY_LOG_LEVEL": "WARNING",
        }
        cmd = [sys.executable, "-m", "hub", "api", "--host", "127.0.0.1", "--port", str(self.port)]
        if workers > 1:
            cmd += ["--workers", str(workers)]
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "api.log").open("w"),
            env=env,
            preexec_fn=die_with_parent,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("the API exited during start-up (see api.log)")
            time.sleep(0.2)
        raise TimeoutError("the API did not become ready")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the API process and its workers so far, from /proc (Linux)."""
        total = 0.0
        for pid in [self.proc.pid, *_children(self.proc.pid)]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / _TICKS
        return total

    def stop(self) -> None:
        stop_process(self.proc, 15, 10.0)


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summarise(latencies: list[float], wall: float, errors: int, body_bytes: int) -> dict[str, Any]:
    ms = [x * 1000 for x in latencies]
    return {
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
        "mean_ms": round(sum(ms) / len(ms), 2),
        "requests_per_s": round(len(latencies) / wall, 1),
        "response_bytes": body_bytes,
    }


async def _closed_loop(
    url: str, headers: dict[str, str], clients: int, requests: int, tick: Tick | None
) -> tuple[list[float], float, int, int]:
    """`clients` connections, each sending its next request as soon as the last one answered, until `requests`.

    aiohttp, not httpx: measured here, httpx's async pool itself tops out near 90 requests/s at 50
    connections (the server idle), which would make every figure a client figure.
    """
    import aiohttp

    latencies: list[float] = []
    errors = 0
    body_bytes = 0
    remaining = min(clients, requests)  # first, one request per connection to open them
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(headers=headers, connector=connector, timeout=timeout) as session:

        async def one_client() -> None:
            nonlocal remaining, errors, body_bytes
            while remaining > 0:
                remaining -= 1
                t0 = time.perf_counter()
                async with session.get(url) as reply:
                    body = await reply.read()
                    status = reply.status
                latencies.append(time.perf_counter() - t0)
                body_bytes = len(body)
                if status != 200:
                    errors += 1
                if tick is not None:
                    tick(len(latencies))

        await asyncio.gather(*(one_client() for _ in range(clients)))
        latencies.clear()
        remaining = requests
        errors = 0
        t0 = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        wall = time.perf_counter() - t0
    return latencies, wall, errors, body_bytes


def load(
    url: str, headers: dict[str, str], clients: int, requests: int, tick: Tick | None = None
) -> tuple[dict[str, Any], list[float]]:
    """(summary, latencies in ms) of `requests` closed-loop requests from `clients` connections."""
    latencies, wall, errors, body_bytes = asyncio.run(_closed_loop(url, headers, clients, requests, tick))
    return {"clients": clients} | summarise(latencies, wall, errors, body_bytes), [x * 1000 for x in latencies]


def _audit_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


# Issue 20's aims for a read (500-entry timeline, 50-entry FHIR page) on the 2-core machine of the benchmarks.
AIM_CPU_MS, AIM_READS_PER_S, AIM_P99_MS, AIM_CLIENTS = 3.0, 300.0, 200.0, 50


def aims(timeline: dict[str, Any], everything: dict[str, Any]) -> dict[str, Any]:
    """Each read phase at 50 clients against the aims: API CPU per read, reads per second and p99."""

    def met(p: dict[str, Any]) -> dict[str, bool]:
        return {
            "cpu": p["api_cpu_ms_per_request"] <= AIM_CPU_MS,
            "reads_per_s": p["requests_per_s"] >= AIM_READS_PER_S,
            "p99": p["p99_ms"] <= AIM_P99_MS,
        }

    return {
        "api_cpu_ms_per_read": AIM_CPU_MS,
        "reads_per_s": AIM_READS_PER_S,
        "p99_ms": AIM_P99_MS,
        "clients": AIM_CLIENTS,
        "timeline": met(timeline),
        "everything": met(everything),
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def run(cfg: ReadConfig, say: Callable[[str], None], bar: Callable[[str, int], Tick]) -> dict[str, Any]:
    started = machine_info()
    say(f"building a child with {cfg.entries} events through identity and the projector")
    t0 = time.perf_counter()
    child_id, rows = build_child(cfg.database, cfg.entries, cfg.seed)
    built_s = time.perf_counter() - t0
    key = load_or_create_signing_key(cfg.workdir)
    token = issue_token(
        key,
        user="bench-gp",
        organisation=GP,
        role="gp",
        purpose="direct-care",
        now=datetime.now(UTC),
        ttl=timedelta(hours=2),
    )
    auth = {"Authorization": f"Bearer {token}"}
    say(f"starting the API ({cfg.workers} worker{'s' if cfg.workers > 1 else ''})")
    api = Api(cfg.database, cfg.workdir, cfg.workers)
    engine = make_engine(cfg.database)
    try:
        api.wait_ready()
        timeline_url = f"{api.base}/api/children/{child_id}/timeline"
        fhir_url = f"{api.base}/fhir/Patient/{child_id}/$everything?_count=50"
        first = httpx.get(timeline_url, headers=auth, timeout=30)
        first.raise_for_status()
        shown = first.json()["entries"]
        levels: dict[str, int] = {}
        for e in shown:
            levels[e["level"]] = levels.get(e["level"], 0) + 1
        audits_before = _audit_count(engine)
        c, n, n1 = cfg.clients, cfg.requests, cfg.single_requests
        phases: dict[str, dict[str, Any]] = {}
        samples: dict[str, list[float]] = {}
        plan = [
            ("healthz", f"{api.base}/healthz", {}, c, n),
            ("timeline_1_client", timeline_url, auth, 1, n1),
            ("timeline", timeline_url, auth, c, n),
            ("everything_1_client", fhir_url, auth, 1, n1),
            ("everything", fhir_url, auth, c, n),
        ]
        for name, url, headers, clients, requests in plan:
            say(f"{name}: {requests} requests from {clients} client{'s' if clients > 1 else ''}")
            cpu = api.cpu_seconds()
            phases[name], samples[name] = load(url, headers, clients, requests, bar(name, requests))
            served = phases[name]["requests"] + min(clients, requests)  # the warm-up requests too
            phases[name]["api_cpu_ms_per_request"] = round((api.cpu_seconds() - cpu) * 1000 / served, 2)
        reads = sum(p["requests"] + min(p["clients"], p["requests"]) for k, p in phases.items() if k != "healthz")
        audited = _audit_count(engine) - audits_before
    finally:
        api.stop()
        engine.dispose()
    t, h, t1 = phases["timeline"], phases["healthz"], phases["timeline_1_client"]
    e, e1 = phases["everything"], phases["everything_1_client"]
    return {
        "samples_ms": samples,  # raw latencies for the plot; the command leaves them out of the JSON
        "database": cfg.database.split(":")[0].split("+")[0],
        "child": {"timeline_rows": rows, "entries_shown_to_viewer": len(shown), "levels": levels},
        "viewer": {"role": "gp", "organisation": GP, "purpose": "direct-care"},
        "config": {
            "clients": c,
            "requests": n,
            "single_client_requests": n1,
            "api_workers": cfg.workers,
            "entries": cfg.entries,
            "seed": cfg.seed,
        },
        "build_seconds": round(built_s, 2),
        "phases": phases,
        "audit": {"reads": reads, "audit_records_written": audited, "one_per_read": audited == reads},
        "ratios": {
            "timeline_p50_vs_healthz_p50": round(t["p50_ms"] / h["p50_ms"], 2),
            "timeline_p99_vs_healthz_p99": round(t["p99_ms"] / h["p99_ms"], 2),
            "timeline_p50_vs_1_client_p50": round(t["p50_ms"] / t1["p50_ms"], 2),
            "timeline_rps_vs_healthz_rps": round(t["requests_per_s"] / h["requests_per_s"], 3),
            "everything_p99_vs_healthz_p99": round(e["p99_ms"] / h["p99_ms"], 2),
            "everything_p50_vs_1_client_p50": round(e["p50_ms"] / e1["p50_ms"], 2),
            "timeline_cpu_vs_healthz_cpu": _ratio(t["api_cpu_ms_per_request"], h["api_cpu_ms_per_request"]),
            "everything_cpu_vs_healthz_cpu": _ratio(e["api_cpu_ms_per_request"], h["api_cpu_ms_per_request"]),
        },
        "aim": aims(t, e),
        "machine": started | {"load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
    }
