"""Starting and stopping child processes so that none outlives `onestory up`."""

from __future__ import annotations

import ctypes
import signal
import subprocess

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """preexec_fn: the kernel kills the child if its parent dies, even by SIGKILL (Linux only)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return  # not Linux: the bounded stop below still applies
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def stop_process(process: subprocess.Popen[bytes] | subprocess.Popen[str], first_signal: int, grace: float) -> int:
    """Ask politely, wait a bounded time, then kill by pid. Returns the exit code."""
    if process.poll() is not None:
        return process.returncode
    process.send_signal(first_signal)
    try:
        return process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(5)
