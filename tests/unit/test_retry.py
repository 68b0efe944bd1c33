"""The one backoff loop: pauses double up to a ceiling, and the event-loop variant keeps riding out transient
database errors (the dead-letter agent's in_thread_retrying) while anything else raises at once."""

from __future__ import annotations

import asyncio
import sqlite3
from itertools import islice

import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from hub.db import transient
from hub.retry import backoff


def test_backoff_doubles_up_to_the_ceiling() -> None:
    assert list(islice(backoff(0.05, 0.3), 5)) == [0.05, 0.1, 0.2, 0.3, 0.3]


def test_in_thread_retrying_rides_out_transient_errors_and_raises_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_pause(_: float) -> None:
        return None

    monkeypatch.setattr(asyncio, "sleep", no_pause)
    locked = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    broken = ProgrammingError("SELECT", {}, sqlite3.ProgrammingError("no such table"))
    failures: list[Exception] = [locked, locked]
    calls: list[int] = []

    def fn(x: int) -> int:
        calls.append(x)
        if failures:
            raise failures.pop(0)
        return x * 2

    assert asyncio.run(transient.in_thread_retrying("test", fn, 21)) == 42
    assert calls == [21, 21, 21]
    failures.append(broken)
    with pytest.raises(ProgrammingError):
        asyncio.run(transient.in_thread_retrying("test", fn, 1))
