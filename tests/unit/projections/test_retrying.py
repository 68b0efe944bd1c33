"""The hot path never skips a batch: transient database errors and refused produces are retried, the rest raise."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from hub.kafka.producer import DeliveryError
from hub.worker.stages import retrying


def _flaky(failures: list[Exception]):  # type: ignore[no-untyped-def]
    calls = []

    def fn(x: int) -> int:
        calls.append(x)
        if failures:
            raise failures.pop(0)
        return x * 2

    return fn, calls


def test_transient_errors_and_refused_produces_are_retried_until_success() -> None:
    locked = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    fn, calls = _flaky([locked, DeliveryError("1 record(s) not acknowledged")])
    assert retrying("test", fn, 21) == 42
    assert calls == [21, 21, 21]


def test_other_errors_raise_at_once() -> None:
    broken = ProgrammingError("SELECT", {}, sqlite3.ProgrammingError("no such table"))
    fn, calls = _flaky([broken])
    with pytest.raises(ProgrammingError):
        retrying("test", fn, 1)
    assert calls == [1]


def test_a_stopping_worker_gives_up_retrying_without_skipping() -> None:
    fn, calls = _flaky([DeliveryError("down")] * 5)
    with pytest.raises(InterruptedError, match="stopped while retrying"):
        retrying("test", fn, 1, stopping=lambda: True)
    assert calls == [1]
