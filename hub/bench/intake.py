"""Intake rates over the real transports (MLLP and HTTP) with the intake journal on and off, same run.

Each mode runs its own `onestory up --no-demo` (embedded broker, SQLite in a temporary directory), so the
only difference is `ONESTORY_INTAKE_JOURNAL`: "off" answers once the broker has acknowledged (today's rate
before the journal, and what an external Kafka gives), "on" once the input is committed to SQL. Senders
behave as agency systems do: each keeps one MLLP connection (or HTTP client) and waits for each answer
before sending the next; several senders run side by side, which is what group commit serves.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from connectors.hl7v2.mllp import frame
from connectors.hl7v2.mllp_client import ack_code, read_acks
from connectors.identifiers import NHS_NUMBER_SYSTEM
from hub.auth.tokens import issue_token, load_or_create_signing_key
from hub.bench.up_process import start_up
from hub.synth.identifiers import test_range_nhs_numbers

TRUST = "RX1"


def adt_a01(control_id: str, nhs: str, patient_class: str = "O") -> bytes:
    """An admission from the trust's PAS for a new child (also the fault-injection suite's MLLP load)."""
    return (
        f"MSH|^~\\&|PAS|{TRUST}|ONESTORY|HUB|20261101093000||ADT^A01|{control_id}|P|2.4\r"
        "EVN|A01|20261101093000\r"
        f"PID|1||M{control_id}^^^{TRUST}^MR~{nhs}^^^NHS^NH||Load^Test||20110304|F\r"
        f"PV1|1|{patient_class}|CLINIC|||||||||||||||V1\r"
    ).encode()


def fhir_patient(nhs: str) -> bytes:
    """A Patient registration for a new child over HTTP (also the fault-injection suite's HTTP load)."""
    return json.dumps(
        {
            "resourceType": "Patient",
            "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": nhs}],
            "name": [{"family": "Load", "given": ["Http"]}],
            "birthDate": "2012-05-06",
        }
    ).encode()


def _send_mllp(host: str, port: int, messages: list[bytes]) -> int:
    """One sender: one connection, each message answered before the next; how many got AA."""
    accepted = 0
    with socket.create_connection((host, port), timeout=30) as sock:
        for message in messages:
            sock.sendall(frame(message))
            accepted += ack_code(read_acks(sock)[0]) == "AA"
    return accepted


def _send_http(api: str, token: str, bodies: list[bytes]) -> int:
    accepted = 0
    headers = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=30) as client:
        for body in bodies:
            accepted += client.post(api + "/intake/fhir", content=body, headers=headers).status_code == 200
    return accepted


def _parallel(work: list[Callable[[], int]]) -> tuple[int, float]:
    results: list[int] = []
    lock = threading.Lock()

    def run(fn: Callable[[], int]) -> None:
        n = fn()
        with lock:
            results.append(n)

    threads = [threading.Thread(target=run, args=(fn,)) for fn in work]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(results), time.perf_counter() - t0


def _one_mode(journal: str, messages: int, senders: int, say: Callable[[str], None]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"onestory-bench-intake-{journal}-") as tmp:
        data_dir = Path(tmp) / "var"
        up = start_up(data_dir, env={"ONESTORY_INTAKE_JOURNAL": journal})
        try:
            key = load_or_create_signing_key(data_dir)
            token = issue_token(
                key, user="bench", organisation=TRUST, role="system", purpose="direct-care", now=datetime.now(UTC)
            )
            per = messages // senders
            say(f"journal {journal}: {per * senders} ADT^A01 over MLLP from {senders} senders")
            numbers = test_range_nhs_numbers()  # every message and Patient a child of its own
            hl7 = [
                [adt_a01(f"J{journal[:2]}{s * per + i:07d}", next(numbers)) for i in range(per)] for s in range(senders)
            ]
            mllp_ok, mllp_s = _parallel([partial(_send_mllp, up.mllp_host, up.mllp_port, b) for b in hl7])
            http_n = max(senders, messages // 4)
            hper = http_n // senders
            say(f"journal {journal}: {hper * senders} FHIR Patients over HTTP from {senders} clients")
            bodies = [[fhir_patient(next(numbers)) for _ in range(hper)] for _ in range(senders)]
            http_ok, http_s = _parallel([partial(_send_http, up.api, token, b) for b in bodies])
            health = httpx.get(up.api + "/healthz", timeout=10).json()
            return {
                "mllp": {"sent": per * senders, "accepted": mllp_ok, "seconds": mllp_s, "per_s": mllp_ok / mllp_s},
                "http": {"sent": hper * senders, "accepted": http_ok, "seconds": http_s, "per_s": http_ok / http_s},
                "journal": health["components"]["broker"].get("journal"),
            }
        finally:
            up.process.send_signal(signal.SIGINT)
            try:
                up.process.wait(60)
            except subprocess.TimeoutExpired:
                up.process.kill()


def run_intake(messages: int, senders: int, say: Callable[[str], None]) -> dict[str, Any]:
    """Both modes, journal off first (the baseline), then on; ratios on / off."""
    off = _one_mode("off", messages, senders, say)
    on = _one_mode("on", messages, senders, say)
    return {
        "senders": senders,
        "off": off,
        "on": on,
        "ratios": {t: on[t]["per_s"] / off[t]["per_s"] for t in ("mllp", "http") if off[t]["per_s"]},
    }
