"""Measure verification over a large synthetic chain, and the cost of one append on the read path.

The chain is generated with the real canonical form and hash, inserted in bulk (bypassing `append`, which
would take hours for a million records one transaction at a time), then verified with the real `verify`.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, update

from hub.audit.log import HEAD_ID, AuditRecord, append, canonical, chain_head, record_hash
from hub.audit.verify import VerifyResult, verify
from hub.db.audit_tables import audit_chain_head
from hub.db.tables import audit_log

_ROLES = ("gp", "camhs-clinician", "school-nurse", "social-worker", "dsl")
_PURPOSES = ("direct-care", "direct-care", "direct-care", "safeguarding")


@dataclass(frozen=True)
class BenchResult:
    records: int
    generate_s: float
    verify: VerifyResult
    append_ms_p50: float
    append_ms_p95: float


def synthetic_record(rng: random.Random, i: int) -> AuditRecord:
    child = f"c{rng.randrange(5000):05d}"
    return AuditRecord(
        action="read",
        outcome="success",
        user_id=f"u{rng.randrange(800)}",
        organisation=f"O{rng.randrange(40)}",
        role=rng.choice(_ROLES),
        purpose=rng.choice(_PURPOSES),
        child_id=child,
        query="timeline",
        entries=[{"id": f"e{i}-{k}", "level": rng.choice(("full", "summary", "flag"))} for k in range(3)],
        client_address="10.0.0.1",
        policy_version="2026.11",
        legitimate_relationship=rng.random() > 0.02,
    )


def generate(engine: Engine, records: int, seed: int = 7, chunk: int = 20_000) -> float:
    """Append `records` synthetic records after the current head, in bulk; returns the seconds taken."""
    rng = random.Random(seed)
    t0 = time.perf_counter()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        seq, prev, _, _ = chain_head(conn)
    done = 0
    while done < records:
        rows = []
        for _ in range(min(chunk, records - done)):
            seq += 1
            fields = dict(synthetic_record(rng, seq).__dict__)
            fields["recorded_at"] = start + timedelta(seconds=seq)
            digest = record_hash(prev, canonical(fields))
            rows.append({**fields, "seq": seq, "prev_hash": prev, "record_hash": digest})
            prev = digest
        with engine.begin() as conn:
            conn.execute(insert(audit_log), rows)
            conn.execute(
                update(audit_chain_head).where(audit_chain_head.c.id == HEAD_ID).values(seq=seq, record_hash=prev)
            )
        done += len(rows)
    return time.perf_counter() - t0


def append_cost(engine: Engine, samples: int = 300) -> tuple[float, float]:
    """Milliseconds added by `append` inside a transaction (p50, p95): with minus without, same transaction shape."""
    rng = random.Random(11)

    def timed(with_append: bool) -> list[float]:
        out = []
        for i in range(samples):
            t0 = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(audit_chain_head.select())
                if with_append:
                    append(conn, synthetic_record(rng, i), datetime.now(UTC))
            out.append((time.perf_counter() - t0) * 1000)
        return out

    base, full = timed(False), timed(True)
    p95 = statistics.quantiles(full, n=20)[18] - statistics.quantiles(base, n=20)[18]
    return statistics.median(full) - statistics.median(base), p95


def run(engine: Engine, records: int, append_samples: int = 300) -> BenchResult:
    generated = generate(engine, records)
    with engine.connect() as conn:
        result = verify(conn)
    p50, p95 = append_cost(engine, append_samples) if append_samples else (0.0, 0.0)
    return BenchResult(records, generated, result, p50, p95)
