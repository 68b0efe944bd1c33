"""Run `onestory up` as a real subprocess for integration tests, exactly as an operator would."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.auth.tokens import issue_token, load_or_create_signing_key
from hub.bench.up_process import READY, UpProcess, start_up

__all__ = ["READY", "RunningHub", "alive", "descendants", "start_hub"]


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


class RunningHub(UpProcess):
    """`onestory up` for a test: tokens from its data dir, and a stop that reports what was running."""

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
    up = start_up(data_dir, [*(extra or []), *(["--database", database] if database else [])], timeout=timeout)
    return RunningHub(**vars(up))
