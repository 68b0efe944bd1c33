"""Decode once: the identity step hands the events it has just decoded and resolved to the projection step of
the same process, keyed by the exact bytes it publishes.

The events topic stays the truth: the projection step takes an event from here only for a record whose value
is byte for byte the one identity published for it (so `codec.decode(value)` would give the same event, as
tests/unit/test_decoded_events.py checks), and decodes anything else as before (another process's records,
a redelivery after a restart). Only a worker running both steps keeps one; it is bounded, so events resolved
here but projected by another worker (their child's partition is elsewhere) are simply forgotten.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any


class DecodedEvents:
    """Bounded to about two batches: when the projection runs behind (a backlog), identity is far ahead and
    what it decodes now would be forgotten before the projection reaches it anyway."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._events: OrderedDict[bytes, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()  # identity's thread puts, the projection's takes

    def put(self, pairs: Iterable[tuple[bytes, dict[str, Any]]]) -> None:
        """Remember (published value, its decoded event) pairs; the oldest go beyond `limit`."""
        with self._lock:
            self._events.update(pairs)
            while len(self._events) > self.limit:
                self._events.popitem(last=False)

    def take(self, values: Iterable[bytes]) -> list[dict[str, Any] | None]:
        """The event for each value (forgotten once taken: each is projected once), or None to decode it."""
        with self._lock:
            pop = self._events.pop
            return [pop(value, None) for value in values]

    def __len__(self) -> int:
        return len(self._events)
