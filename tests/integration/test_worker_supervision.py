"""`onestory up` restarts a worker that dies, and the restarted worker resumes from its tracked offsets."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from connectors.hl7v2.mllp_client import ack_code, send_message
from tests.integration.test_walking_skeleton import ADT_A01, NHS
from tests.support.hub_process import alive, descendants, start_hub

pytestmark = pytest.mark.integration


def _worker_pid(hub_pid: int) -> int:
    for pid in descendants(hub_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"hub worker" in cmdline:
            return pid
    raise AssertionError("no worker process under onestory up")


def test_a_killed_worker_is_restarted_and_nothing_is_lost(tmp_path: Path) -> None:
    hub = start_hub(tmp_path / "var", f"sqlite:///{tmp_path / 'onestory.db'}")
    try:
        first = _worker_pid(hub.process.pid)
        os.kill(first, signal.SIGKILL)
        # Sent while no worker runs: the ACK only needs the broker; processing waits for the restart.
        assert ack_code(send_message(hub.mllp_host, hub.mllp_port, ADT_A01)) == "AA"
        token = hub.token(org="RX1", role="gp")
        deadline = time.monotonic() + 60
        total = 0
        while time.monotonic() < deadline and not total:
            reply = httpx.get(
                f"{hub.api}/fhir/Patient",
                params={"identifier": f"https://fhir.nhs.uk/Id/nhs-number|{NHS}"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            total = reply.json().get("total", 0)
            time.sleep(0.5)
        assert total == 1, "the admission sent while the worker was down was processed after the restart"
        second = _worker_pid(hub.process.pid)
        assert second != first and not alive(first)
        health = httpx.get(f"{hub.api}/healthz", timeout=10).json()
        assert health["components"]["worker"]["status"] == "ok"
    finally:
        code, children = hub.stop()
    assert code == 0
    time.sleep(0.2)
    assert not [pid for pid in children if alive(pid)]
