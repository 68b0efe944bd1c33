"""The access log: one hash-chained record per read or denial, written before any data leaves.

Each record commits to the previous record's hash, so altering, deleting, inserting or reordering records
breaks the chain (verification and signed checkpoints come with the information-governance issue).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, text

from hub.db.tables import audit_log

GENESIS = "0" * 64
_local_lock = threading.Lock()


@dataclass(frozen=True)
class AuditRecord:
    action: str  # read | query | deny | ...
    outcome: str  # success | denied | error
    user_id: str
    organisation: str
    role: str
    purpose: str
    child_id: str | None = None
    query: str | None = None
    entries: list[dict[str, str]] = field(default_factory=list)  # [{"id": ..., "level": ...}]
    client_address: str | None = None


def record_hash(prev_hash: str, record: dict[str, Any]) -> str:
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def append(conn: Connection, record: AuditRecord, now: datetime) -> str:
    """Append inside the caller's transaction; the caller commits before sending its response."""
    with _local_lock:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7253001)"))  # one chain head across API replicas
        prev = conn.execute(select(audit_log.c.record_hash).order_by(audit_log.c.seq.desc()).limit(1)).scalar()
        row = {**asdict(record), "recorded_at": now.isoformat()}
        digest = record_hash(prev or GENESIS, row)
        conn.execute(
            audit_log.insert().values(
                **asdict(record), recorded_at=now, prev_hash=prev or GENESIS, record_hash=digest
            )
        )
        return digest
