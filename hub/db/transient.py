"""Riding out transient database errors in the worker: a locked SQLite file, a dropped PostgreSQL connection.

An agent must never skip a batch, and must not crash the worker for a condition that clears by itself, so it
retries the same batch with backoff and says so in the log. Anything else still raises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

from hub.retry import retrying_in_thread

log = logging.getLogger(__name__)
T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


async def in_thread_retrying(what: str, fn: Callable[..., T], *args: Any, max_delay: float = 5.0) -> T:
    """Run fn(*args) in a thread; on a transient database error wait and run it again, however often."""
    return await retrying_in_thread(what, fn, *args, again=_transient, first=0.1, most=max_delay)


def _transient(what: str, exc: Exception, delay: float) -> bool:
    if not (isinstance(exc, DBAPIError) and is_transient(exc)):
        return False
    log.warning("%s: transient database error (%s), retrying in %.1fs", what, type(exc.orig).__name__, delay)
    return True
