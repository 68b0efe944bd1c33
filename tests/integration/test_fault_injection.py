"""Faults under load, on `onestory up` (embedded broker) with SQLite and with the local PostgreSQL.

One MLLP and one HTTP sender stream admissions and Patient registrations while the embedded broker, then the
worker, then the whole hub (API, MLLP listener and all) is killed with SIGKILL. Afterwards every input that
was acknowledged (AA or 200) must be in the event store, on the right child's timeline, exactly once, and
`onestory audit verify` must pass. The figures (sent, acked, stored, lost, recovery seconds) are printed per
fault; run with `-s` to see them.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.integration.connectors_helpers import cli, engine_for
from tests.support import private_postgres
from tests.support.faults import Tally, reconcile, stream, wait_until
from tests.support.hub_process import RunningHub, alive, descendants, start_hub

pytestmark = pytest.mark.integration


def _child(hub: RunningHub, marker: bytes) -> int:
    for pid in descendants(hub.process.pid):
        try:
            if marker in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" "):
                return pid
        except OSError:
            continue
    raise AssertionError(f"no {marker.decode()} process under onestory up")


def _kill(hub: RunningHub, marker: bytes) -> Callable[[], None]:
    def fault() -> None:
        os.kill(_child(hub, marker), signal.SIGKILL)

    return fault


def _health(hub: RunningHub) -> dict[str, object]:
    try:
        return dict(httpx.get(f"{hub.api}/healthz", timeout=5).json())
    except (httpx.HTTPError, ValueError):
        return {}


def _report(
    fault: str, database: str, tally: Tally, stored: int, lost: int, recovery: float | None, settled: float
) -> None:
    figures = {
        "fault": fault,
        "database": database,
        "sent": tally.sent,
        "acked": tally.acked,
        "acked_hl7": len(tally.hl7_acked),
        "acked_http": len(tally.http_acked),
        "refused": tally.refused,
        "unanswered": tally.unanswered,
        "stored": stored,
        "lost": lost,
        "recovery_s": None if recovery is None else round(recovery, 1),
        "settled_s": round(settled, 1),
    }
    print("fault-injection " + json.dumps(figures))


def _check(hub: RunningHub, database_url: str, tally: Tally, fault: str, recovery: float | None) -> None:
    engine = engine_for(database_url)
    try:
        result = reconcile(engine, tally)
    finally:
        engine.dispose()
    backend = database_url.split(":", 1)[0]
    _report(fault, backend, tally, result.stored, len(result.lost), recovery, result.seconds)
    assert tally.acked > 20, f"{fault}: the stream hardly ran ({tally})"
    lost = result.lost
    assert not lost, f"{fault}: {len(lost)} acknowledged input(s) never reached the event store: {lost[:5]}"
    assert not result.wrong_child, f"{fault}: entries on the wrong timeline or missing: {result.wrong_child[:5]}"
    assert not result.doubled, f"{fault}: inputs stored twice: {result.doubled[:5]}"


def test_faults_lose_nothing_acknowledged(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "var"
    hub = start_hub(data_dir, database_url)
    try:
        # 1. The embedded broker (the log is in memory) dies two seconds into the stream.
        tally = stream(hub, 8.0, [(2.0, _kill(hub, b"broker --listener-url"))], seed=1, tag="BRK")
        wait_until(
            lambda: _health(hub).get("status") == "ok" and bool(_health(hub)["components"]["broker"].get("restarts")),  # type: ignore[index]
            90,
            "the hub healthy again with its broker restarted",
        )
        broker = _health(hub)["components"]["broker"]  # type: ignore[index]
        assert broker["restarts"] == 1 and broker["last_recovery"]["seconds"] > 0
        _check(hub, database_url, tally, "broker SIGKILL", broker["last_recovery"]["seconds"])

        # 2. The worker dies mid-stream; `up` restarts it and it resumes from its tracked offsets.
        worker = _child(hub, b"hub worker")
        tally = stream(hub, 6.0, [(2.0, _kill(hub, b"hub worker"))], seed=2, tag="WRK")
        took = wait_until(
            lambda: _health(hub).get("status") == "ok" and _child(hub, b"hub worker") != worker,
            90,
            "a new worker, healthy",
        )
        _check(hub, database_url, tally, "worker SIGKILL", took)

        # 3. The whole hub (the API and MLLP listener with it) is killed; a new `up` on the same data finishes
        #    what the old one had acknowledged but not yet relayed.
        tally = stream(hub, 4.0, [(2.0, lambda: os.kill(hub.process.pid, signal.SIGKILL))], seed=3, tag="API")
        hub.process.wait(30)
        wait_until(lambda: not [p for p in descendants(hub.process.pid) if alive(p)], 30, "the old hub's children gone")
        t0 = time.monotonic()
        hub = start_hub(data_dir, database_url)
        _check(hub, database_url, tally, "hub (API + MLLP) SIGKILL and restart", time.monotonic() - t0)
    finally:
        code, _children = hub.stop()
    assert code == 0
    verify = cli("audit", "verify", "--data-dir", str(data_dir), "--database", database_url, "--json")
    assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest.mark.skipif(not private_postgres.available(), reason="needs the PostgreSQL server binaries")
def test_a_postgresql_restart_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """The database crashes (immediate stop) and comes back two seconds later, mid-stream, under a hub of our own
    server: senders are told to resend what could not be committed, and everything acknowledged is kept."""
    pg = private_postgres.PrivatePostgres().init()
    try:
        hub = start_hub(tmp_path / "var", pg.url)
        try:
            tally = stream(hub, 10.0, [(2.0, lambda: pg.restart(down_for=2.0))], seed=4, tag="PGR")
            took = wait_until(lambda: _health(hub).get("status") == "ok", 90, "the hub healthy again")
            _check(hub, pg.url, tally, "PostgreSQL restart", took)
        finally:
            code, _children = hub.stop()
        assert code == 0
        verify = cli("audit", "verify", "--data-dir", str(tmp_path / "var"), "--database", pg.url, "--json")
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        pg.remove()
