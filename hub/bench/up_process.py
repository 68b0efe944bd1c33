"""`onestory up` as a child process, as an operator runs it: started, read until its `ready` line, stopped with
SIGINT. Shared by the intake benchmark and the integration tests, so both read the line `up` prints one way.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hub.kafka.embedded_broker import free_port

# The line hub.stack.Stack.ready_line prints once every component answers.
READY = re.compile(
    r"^ready api=(?P<api>\S+) fhir=\S+ mllp=(?P<mllp_host>[^:\s]+):(?P<mllp_port>\d+) kafka=(?P<kafka>\S+)"
)


class UpNotReady(RuntimeError):
    """`up` exited or timed out before its ready line; the message carries the end of its output."""


@dataclass
class UpProcess:
    process: subprocess.Popen[str]
    data_dir: Path
    api: str
    mllp_host: str
    mllp_port: int
    kafka: str
    output: list[str] = field(default_factory=list)  # stdout lines, still filled while it runs
    stderr: list[str] = field(default_factory=list)


def start_up(
    data_dir: Path,
    args: list[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 90.0,
) -> UpProcess:
    """`python -m hub up --no-demo` on free ports with `args` added; returns once it printed `ready`."""
    cmd = [sys.executable, "-m", "hub", "up", "--data-dir", str(data_dir)]
    cmd += ["--api-port", str(free_port()), "--mllp-port", str(free_port()), "--no-demo", *(args or [])]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
        env={**os.environ, **(env or {})},
    )
    lines: list[str] = []
    errors: list[str] = []
    # Both pipes are drained for the child's whole life: a full pipe would block it.
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
            return UpProcess(
                proc, data_dir, match["api"], match["mllp_host"], int(match["mllp_port"]), match["kafka"], lines, errors
            )
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise UpNotReady(f"onestory up did not become ready: stdout={lines[-5:]} stderr={''.join(errors)[-2000:]}")
