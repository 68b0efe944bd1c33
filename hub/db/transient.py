"""Riding out transient database errors in the worker: a locked SQLite file, a dropped PostgreSQL connection.

An agent must never skip a batch, and must not crash the worker for a condition that clears by itself, so it
retries the same batch with backoff and says so in the log. Anything else still raises.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)
T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


async def in_thread_retrying(what: str, fn: Callable[..., T], *args: Any, max_delay: float = 5.0) -> T:
    """Run fn(*args) in a thread; on a transient database error wait and run it again, however often."""
    delay = 0.1
    while True:
        try:
            return await asyncio.to_thread(fn, *args)
        except DBAPIError as exc:
            if not is_transient(exc):
                raise
            log.warning("%s: transient database error (%s), retrying in %.1fs", what, type(exc.orig).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
