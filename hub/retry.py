"""Trying a step again, with growing pauses, until it works: the one backoff loop behind the worker's retries.

Callers say which failures are worth another try (and log why) through `again`; anything else raises at once.
It is a small function rather than tenacity or stamina because the callers need exactly this: an unbounded
retry, a `stopping` check between tries that ends in InterruptedError, each caller's own log line, and the same
loop awaited from the event loop with the step in a thread. Reproducing that in tenacity takes a retry
predicate, a before-sleep hook, a stop condition and an error callback, more code than the loop itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

Again = Callable[[str, Exception, float], bool]
"""again(what, exc, delay): log why and return True to wait `delay` seconds and try again; False re-raises exc."""


def backoff(first: float, most: float) -> Iterator[float]:
    """first, 2·first, 4·first, … never more than `most`, for ever."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, most)


def retrying(
    what: str,
    fn: Callable[..., T],
    *args: Any,
    again: Again,
    first: float = 0.05,
    most: float = 5.0,
    stopping: Callable[[], bool] = lambda: False,
) -> T:
    """Run fn(*args) until it returns, sleeping between tries; `stopping()` true after a failure → InterruptedError."""
    delays = backoff(first, most)
    while True:
        delay = next(delays)
        try:
            return fn(*args)
        except Exception as exc:
            if not again(what, exc, delay):
                raise
        if stopping():
            raise InterruptedError(f"{what}: stopped while retrying")
        time.sleep(delay)


async def retrying_in_thread(
    what: str, fn: Callable[..., T], *args: Any, again: Again, first: float = 0.05, most: float = 5.0
) -> T:
    """retrying() for the event loop: each try runs in a thread, the pauses are asyncio sleeps (so cancellable)."""
    delays = backoff(first, most)
    while True:
        delay = next(delays)
        try:
            return await asyncio.to_thread(fn, *args)
        except Exception as exc:
            if not again(what, exc, delay):
                raise
        await asyncio.sleep(delay)
