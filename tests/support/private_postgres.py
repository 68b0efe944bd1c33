"""A throwaway PostgreSQL server of our own (initdb into a temporary directory, its own port), so a test can
stop and restart it under load without touching the machine's shared server that other tests use.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from hub.kafka.embedded_broker import free_port


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def available() -> bool:
    return _bin_dir() is not None


@dataclass
class PrivatePostgres:
    """`root` defaults to a fresh directory directly under the system temp dir: not under pytest's tmp_path,
    whose parent another pytest session resets to mode 0700, which locks the `postgres` user out mid-test."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="onestory-pg-")))
    port: int = 0

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://onestory@127.0.0.1:{self.port}/onestory"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        bin_dir = _bin_dir()
        assert bin_dir is not None, "no PostgreSQL server binaries (Debian package postgresql)"
        cmd = [str(bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
        if check and done.returncode != 0:
            raise RuntimeError(f"{args[0]} exited with {done.returncode}: {done.stdout[-500:]} {done.stderr[-500:]}")
        return done

    def init(self) -> PrivatePostgres:
        self.port = self.port or free_port()
        data = self.root / "data"
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            shutil.chown(self.root, pg.pw_uid, pg.pw_gid)  # the temp dir itself is 0700: the server's own
        self._run("initdb", "-D", str(data), "-U", "onestory", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "onestory", "onestory")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.root / "data"), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", mode, "-w", "stop", check=False)

    def remove(self) -> None:
        """Stop the server (if running) and delete its files."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def restart(self, down_for: float = 2.0) -> None:
        """An abrupt stop (like a crash: no checkpoint), a pause, then the server back on the same port."""
        self.stop("immediate")
        time.sleep(down_for)
        self.start()
