"""The Kubernetes topology on one machine: what the helm chart runs, as separate processes.

`onestory topics create` and `onestory migrate` (the chart's Jobs), then `onestory worker`, `onestory api`
and `onestory mllp` (its three Deployments), all configured only through ONESTORY_* variables as the
chart's ConfigMap and Secret provide them. An ADT^A01 sent to the MLLP process is read back through the API
process: nothing is shared between them but Kafka and the database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from connectors.hl7v2.mllp_client import ack_code, send_message
from hub.auth.tokens import issue_token, load_or_create_signing_key
from hub.kafka.embedded_broker import EmbeddedBroker, free_port, wait_for_port
from hub.kafka.topics import ALL_TOPICS

pytestmark = pytest.mark.integration

NHS = "9434765870"
ADT_A01 = (
    "MSH|^~\\&|PAS|RX1|ONESTORY|HUB|20261101093000||ADT^A01|MSGK8S01|P|2.4\r"
    "EVN|A01|20261101093000\r"
    f"PID|1||K8S1^^^RX1^MR~{NHS}^^^NHS^NH||Okafor^Amara||20110304|F|||1 High St^^Leeds^^LS1 4AP\r"
    "PV1|1|E|AE^CUB1|||||||||||||||V778\r"
).encode()


def onestory(*args: str, env: dict[str, str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def stop(proc: subprocess.Popen[str], grace: float = 15.0) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


@pytest.fixture
def cluster_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Settings exactly as the chart's ConfigMap and Secret put them in the environment."""
    with EmbeddedBroker() as broker:
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        yield {
            **os.environ,
            "ONESTORY_KAFKA": broker.bootstrap,
            "ONESTORY_DATABASE": f"sqlite:///{tmp_path / 'onestory.db'}",
            "ONESTORY_DATA_DIR": str(data_dir),
            "ONESTORY_PARTITIONS": "3",
            "ONESTORY_TOPIC_REPLICATION_FACTOR": "1",
            "ONESTORY_API_HOST": "127.0.0.1",
            "ONESTORY_MLLP_HOST": "127.0.0.1",
            "ONESTORY_API_PORT": str(free_port()),
            "ONESTORY_MLLP_PORT": str(free_port()),
            "ONESTORY_LOG_LEVEL": "warning",
            "ONESTORY_DEMO": "false",
        }


def test_jobs_then_deployments_carry_an_admission_from_mllp_to_the_api(
    cluster_env: dict[str, str], tmp_path: Path
) -> None:
    env = cluster_env
    created = onestory("topics", "create", env=env, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert created.stdout.split() == [f"{t}" if i % 2 == 0 else "partitions=3" for t in ALL_TOPICS for i in (0, 1)]
    assert onestory("topics", "create", env=env, cwd=tmp_path).returncode == 0  # a re-run changes nothing
    for _ in range(2):  # the migration Job runs before every upgrade: it must be repeatable
        migrated = onestory("migrate", env=env, cwd=tmp_path)
        assert migrated.returncode == 0 and migrated.stdout.startswith("migrated sqlite:///"), migrated.stderr

    key = load_or_create_signing_key(Path(env["ONESTORY_DATA_DIR"]))
    web_port = free_port()
    processes = {
        "worker": ["worker", "--web-port", str(web_port)],
        "api": ["api"],
        "mllp": ["mllp"],
    }
    logs = {name: ((tmp_path / f"{name}.out").open("w"), (tmp_path / f"{name}.err").open("w")) for name in processes}
    running = {
        name: subprocess.Popen(
            [sys.executable, "-m", "hub", *args],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=logs[name][0],
            stderr=logs[name][1],
            text=True,
        )
        for name, args in processes.items()
    }
    try:
        api = f"http://127.0.0.1:{env['ONESTORY_API_PORT']}"
        wait_for_port("127.0.0.1", int(env["ONESTORY_MLLP_PORT"]), 60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{api}/healthz", timeout=2).json()["components"]["database"]["status"] == "ok":
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        ack = send_message("127.0.0.1", int(env["ONESTORY_MLLP_PORT"]), ADT_A01)
        assert ack_code(ack) == "AA", ack

        token = issue_token(key, user="u1", organisation="RX1", role="gp", purpose="direct-care", now=datetime.now(UTC))
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 45
        total = 0
        while time.monotonic() < deadline and not total:
            reply = httpx.get(f"{api}/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{NHS}", headers=headers)
            total = reply.json().get("total", 0) if reply.status_code == 200 else 0
            time.sleep(0.3)
        assert total == 1, {n: p.poll() for n, p in running.items()}
        worker_health = httpx.get(f"http://127.0.0.1:{web_port}/healthz", timeout=5)
        assert worker_health.status_code == 200 and worker_health.json()["assigned_partitions"] >= 1
    finally:
        codes = {name: stop(proc) for name, proc in running.items()}
        for out, err in logs.values():
            out.close()
            err.close()
    errors = {name: (tmp_path / f"{name}.err").read_text()[-2000:] for name in running}
    # uvicorn re-raises SIGTERM once it has shut down cleanly, as Kubernetes expects (exit 143 there)
    assert codes["api"] in (0, -signal.SIGTERM) and codes["mllp"] == 0, (codes, errors)
    assert "ready mllp=127.0.0.1:" in (tmp_path / "mllp.out").read_text()
