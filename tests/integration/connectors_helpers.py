"""Helpers for the connector integration tests: HTTP intake calls, waiting on the SQL archive, the CLI."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from sqlalchemy import Engine, select

from hub.db.engine import make_engine
from hub.db.tables import deadletters, event_store
from tests.support.hub_process import RunningHub

T = TypeVar("T")


def post(hub: RunningHub, path: str, body: bytes, token: str | None, content_type: str) -> httpx.Response:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(hub.api + path, content=body, headers=headers, timeout=60)


def accepted_ids(reply: httpx.Response) -> list[str]:
    return [
        c["code"]
        for i in reply.json()["issue"]
        for c in (i.get("details") or {}).get("coding", [])
        if c.get("system") == "urn:onestory:event-id"
    ]


def error_paths(reply: httpx.Response) -> list[str]:
    return [e for i in reply.json()["issue"] if i["severity"] == "error" for e in i.get("expression", [])]


def wait_for(probe: Callable[[], T | None], timeout: float = 20.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached within {timeout:.0f}s")


def engine_for(database_url: str) -> Engine:
    return make_engine(database_url)


def stored(engine: Engine, ids: list[str]) -> dict[str, dict[str, Any]]:
    """event id → its event_store row (child id, kind, source org), for the ids already archived."""
    with engine.connect() as conn:
        rows = conn.execute(select(event_store).where(event_store.c.event_id.in_(ids))).all()
    return {r.event_id: {"child_id": r.child_id, "kind": r.kind, "source_org": r.source_org} for r in rows}


def count_events(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(event_store.c.event_id)).all())


def deadletter_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(deadletters)).all())


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def wait_for_deadletters(engine: Engine, at_least: int, timeout: float = 30.0) -> list[Any]:
    def enough() -> list[Any] | None:
        rows = deadletter_rows(engine)
        return rows if len(rows) >= at_least else None

    return wait_for(enough, timeout, f"{at_least} dead letter(s) in the table")
