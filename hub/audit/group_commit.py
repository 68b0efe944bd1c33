"""Group commit for the access log: many request threads, one writer, one transaction per batch.

Every read appends an audit record and must not answer before it is committed (DESIGN.md §8). Appends are
serial by nature (each extends the one chain head), and on a busy API each one alone costs several
database round trips, each of which hands the GIL to the threads that are reading and waits to get it back.
So requests queue their records here and block; a single writer thread takes whatever is queued, appends it
with `audit.append_many` (the head locked and moved once) and any per-record follow-up (the CP-IS style
"who looked" alert) in the same transaction, commits, and only then releases the waiting requests.

Fail closed: a request whose record is not committed gets the exception (so a 500, and no data leaves). A
batch that fails is retried one record at a time, so one bad record cannot fail the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine

from hub.audit.log import AuditRecord, append_many
from hub.telemetry.spans import audit_span

log = logging.getLogger(__name__)
# Called in the batch's transaction with the record's hash and the time it was recorded at.
FollowUp = Callable[[Connection, str, datetime], object]
MAX_BATCH = 64


@dataclass
class _Pending:
    record: AuditRecord
    then: FollowUp | None
    done: threading.Event = field(default_factory=threading.Event)
    digest: str | None = None
    error: BaseException | None = None


class AuditWriter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: list[_Pending] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    def append(self, record: AuditRecord, then: FollowUp | None = None, timeout: float = 30.0) -> str:
        """Queue `record`, wait until it is committed, return its hash; raise if it was not committed."""
        item = _Pending(record, then)
        with self._ready:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()
            self._queue.append(item)
            self._ready.notify()
        # The request's own span (a child of its read span): its audit is waited for here, not in the writer.
        with audit_span(record.action, record.outcome, len(record.entries)):
            committed = item.done.wait(timeout)
        if not committed:
            raise TimeoutError("the audit record was not committed in time")
        if item.error is not None:
            raise item.error
        assert item.digest is not None
        return item.digest

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue:
                    self._ready.wait()
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                self._write(batch)
            except Exception:  # noqa: BLE001 - retried one by one below; each failure goes to its own request
                log.warning("audit batch of %d failed; retrying one record at a time", len(batch), exc_info=True)
                for item in batch:
                    try:
                        self._write([item])
                    except Exception as exc:  # noqa: BLE001 - handed to the waiting request, which fails closed
                        item.error = exc
                        item.done.set()

    def _write(self, batch: list[_Pending]) -> None:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            digests = append_many(conn, [item.record for item in batch], now)
            for item, digest in zip(batch, digests, strict=True):
                if item.then is not None:
                    item.then(conn, digest, now)
        for item, digest in zip(batch, digests, strict=True):
            item.digest = digest
            item.done.set()


_WRITERS: WeakKeyDictionary[Engine, AuditWriter] = WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()


def writer_for(engine: Engine) -> AuditWriter:
    """The one writer per engine in this process (API replicas are serialised by the database's own lock)."""
    with _WRITERS_LOCK:
        writer = _WRITERS.get(engine)
        if writer is None:
            writer = _WRITERS[engine] = AuditWriter(engine)
        return writer
