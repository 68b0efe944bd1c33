"""Friendly failures: configuration and connection errors from any `onestory` command are one or two lines
and exit code 2 (the traceback behind `--debug`), against a real closed database port and a real unreachable
Kafka port; unknown errors keep their traceback. And `up` stays plain when its output is not a terminal.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import hub.cli
from hub.cli import main as onestory
from hub.failures import hide_passwords
from hub.kafka.embedded_broker import free_port
from tests.support.hub_process import READY

pytestmark = pytest.mark.integration


def _onestory(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "hub", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )
    return done, time.monotonic() - t0


def _up(data_dir: Path, *extra: str) -> list[str]:
    return ["up", "--no-demo", "--data-dir", str(data_dir), "--api-port", str(free_port()), "--mllp-port",
            str(free_port()), *extra]  # fmt: skip


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def test_up_with_a_closed_database_port_says_so_in_two_lines(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://root:s3cret-pw@127.0.0.1:{free_port()}/test"
    done, _ = _onestory(*_up(tmp_path / "var", "--database", url))
    lines = _errors(done.stderr)
    assert done.returncode == 2, done.stderr
    assert len(lines) == 2, done.stderr
    assert lines[0].startswith("error: cannot use the database:") and "Connection refused" in lines[0]
    assert lines[1].startswith("fix: check --database") and "--debug" in lines[1]
    assert "s3cret-pw" not in done.stderr + done.stdout and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_up_with_an_unreachable_kafka_fails_fast_and_quietly(tmp_path: Path) -> None:
    done, seconds = _onestory(*_up(tmp_path / "var", "--kafka", f"127.0.0.1:{free_port()}"))
    lines = _errors(done.stderr)
    assert done.returncode == 2, done.stderr
    assert seconds < 15, seconds  # ~5 s metadata timeout plus interpreter start-up
    assert len(lines) == 2, done.stderr  # no librdkafka log lines
    assert lines[0].startswith("error: cannot reach Kafka at 127.0.0.1:") and "within 5s" in lines[0]
    assert lines[1].startswith("fix: check --kafka HOST:PORT")
    assert "%3|" not in done.stderr and "Traceback" not in done.stderr


def test_audit_verify_on_a_missing_data_dir(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    done, _ = _onestory("audit", "verify", "--data-dir", str(missing))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: no such file or directory: {missing}",
        "fix: check the path (--data-dir, --policy, --directory, ...) (run `onestory --debug ...` for the traceback)",
    ]
    assert not missing.exists()  # nothing was created by looking


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done, _ = _onestory("--debug", "audit", "verify", "--data-dir", str(tmp_path / "missing"))
    assert done.returncode == 1 and "Traceback" in done.stderr and "FileNotFoundError" in done.stderr
    env_done, _ = _onestory("audit", "verify", "--data-dir", str(tmp_path / "missing"), env={"ONESTORY_DEBUG": "1"})
    assert env_done.returncode == 1 and "Traceback" in env_done.stderr


def test_an_invalid_setting_is_named_without_its_value(tmp_path: Path) -> None:
    done, _ = _onestory(*_up(tmp_path / "var"), env={"ONESTORY_PARTITIONS": "lots"})
    assert done.returncode == 2, done.stderr
    assert _errors(done.stderr)[0].startswith("error: invalid setting: partitions:")
    assert "lots" not in done.stderr and "Traceback" not in done.stderr


@click.command()
def _boom() -> None:
    raise ValueError("a bug, not a configuration problem")


def test_unknown_errors_keep_their_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(hub.cli._COMMANDS, "boom", f"{__name__}:_boom")
    result = CliRunner().invoke(onestory, ["boom"])
    assert result.exit_code == 1 and isinstance(result.exception, ValueError)
    assert "error:" not in result.stderr


def test_passwords_in_urls_are_hidden() -> None:
    text = 'cannot reach postgresql+psycopg://root:pw@db:5432/x or kafka://u:p@k:9092 as "user"'
    assert (
        hide_passwords(text) == 'cannot reach postgresql+psycopg://root:***@db:5432/x or kafka://u:***@k:9092 as "user"'
    )


def test_up_output_is_plain_when_not_a_terminal(tmp_path: Path) -> None:
    """`onestory up 2>&1 | grep ^ready`: stdout a pipe (stderr, where the worker writes, into the same pipe)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", *_up(tmp_path / "var")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen += line
            if line.startswith(b"ready "):
                break
        ready = [raw for raw in seen.decode().splitlines() if re.match(r"^ready ", raw)]
        assert ready and READY.match(ready[0]), seen[-2000:]
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    assert b"\x1b" not in seen + rest, (seen + rest)[-2000:]
    assert proc.returncode == 0
