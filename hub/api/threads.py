"""How many requests run blocking route code at once: few threads, each with the GIL more of the time.

FastAPI runs sync routes on anyio's default thread limiter (40 threads). A read is CPU-bound Python, so 40
threads only take turns at the GIL in 5 ms slices: every read finishes late, and the thread holding the audit
write lock is descheduled while the others wait for it. Measured with `onestory bench read`.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread

Scope = dict[str, Any]
SYNC_THREADS = 8


class SyncThreadLimit:
    """ASGI middleware that sets the limit once, inside the server's event loop (the limiter lives there)."""

    def __init__(self, app: Any, threads: int) -> None:
        self.app = app
        self.threads = threads
        self._set = False

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if not self._set:
            anyio.to_thread.current_default_thread_limiter().total_tokens = self.threads
            self._set = True
        await self.app(scope, receive, send)
