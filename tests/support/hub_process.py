"""Run `onestory up` as a real subprocess for integration tests, exactly as an operator would."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.auth.tokens import issue_token, load_or_create_signing_key
from hub.kafka.embedded_broker import free_port

READY = re.compile(
    r"^ready api=(?P<api>\S+) fhir=\S+ mllp=(?P<mllp_host>[^:\s]+):(?P<mllp_port>\d+) kafka=(?P<kafka>\S+)"
)


def descendants(pid: int) -> set[int]:
    """All live descendants of pid, read from /proc (no psutil needed)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@dataclass
class RunningHub:
    process: subprocess.Popen[str]
    data_dir: Path
    api: str
    mllp_host: str
    mllp_port: int
    kafka: str
    output: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def token(
        self,
        *,
        user: str = "u1",
        org: str = "RX1",
        role: str = "gp",
        purpose: str = "direct-care",
        ttl: timedelta = timedelta(hours=1),
    ) -> str:
        key = load_or_create_signing_key(self.data_dir)
        return issue_token(key, user=user, organisation=org, role=role, purpose=purpose, now=datetime.now(UTC), ttl=ttl)

    def stop(self, timeout: float = 30.0) -> tuple[int, set[int]]:
        """SIGINT like Ctrl-C; returns the exit code and the child pids that were alive just before."""
        before = descendants(self.process.pid)
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout)
        return code, before


def start_hub(
    data_dir: Path, database: str | None = None, extra: list[str] | None = None, timeout: float = 90.0
) -> RunningHub:
    cmd = [
        sys.executable,
        "-m",
        "hub",
        "up",
        "--data-dir",
        str(data_dir),
        "--api-port",
        str(free_port()),
        "--mllp-port",
        str(free_port()),
        "--no-demo",
        *(extra or []),
    ]
    if database:
        cmd += ["--database", database]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    lines: list[str] = []
    errors: list[str] = []
    threading.Thread(target=lambda: errors.extend(proc.stderr or []), daemon=True).start()
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        match = READY.match(line)
        if match:
            threading.Thread(
                target=lambda: lines.extend(x.rstrip("\n") for x in proc.stdout or []), daemon=True
            ).start()
            return RunningHub(
                proc, data_dir, match["api"], match["mllp_host"], int(match["mllp_port"]), match["kafka"], lines, errors
            )
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise RuntimeError(f"onestory up did not become ready: stdout={lines[-5:]} stderr={''.join(errors)[-2000:]}")
