"""One writer at a time per engine in this process, queued on a Python lock instead of in the database.

SQLite has one write lock per file. Two threads of one process that both begin a transaction, read and then
write make SQLite's busy handler sleep in steps of up to 100 ms, or fail at once with a stale snapshot.
Queueing them here costs nothing, because their writes would be serial anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from weakref import WeakKeyDictionary

from sqlalchemy import Engine

_LOCKS: WeakKeyDictionary[Engine, threading.Lock] = WeakKeyDictionary()
_GUARD = threading.Lock()


def writer_lock(engine: Engine) -> threading.Lock:
    with _GUARD:
        return _LOCKS.setdefault(engine, threading.Lock())


@contextmanager
def serial_if_sqlite(engine: Engine) -> Iterator[None]:
    """Serialise this process's writers on SQLite; PostgreSQL locks rows, so its writers run side by side."""
    with writer_lock(engine) if engine.dialect.name == "sqlite" else nullcontext():
        yield
