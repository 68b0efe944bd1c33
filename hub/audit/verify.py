"""Recompute the access log's hash chain from the stored rows and check it against the signed checkpoints.

The rows are streamed in seq order (a server-side cursor on PostgreSQL) and hashed in one tight loop, so
a million records verify in well under a minute. The first problem found is named by its seq:

- a changed field: the record's hash no longer matches its content;
- a deleted record: a gap in the contiguous seq numbers (or a tail shorter than the chain head);
- an inserted record: a seq beyond the chain head, or a record that does not follow its predecessor;
- reordered records: a record whose prev_hash is not its predecessor's hash;
- a chain rewritten and re-hashed from some point on: a signed checkpoint no longer matches it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Connection, func, select

from hub.audit.checkpoints import CheckpointError, open_checkpoint
from hub.audit.log import GENESIS, as_utc, canonical_json, chain_head
from hub.db.audit_tables import audit_checkpoints
from hub.db.tables import audit_log

_SQL = (
    "SELECT seq, {at}, action, outcome, user_id, organisation, role, purpose, child_id, query, {entries}, "
    "client_address, policy_version, reason, legitimate_relationship, {detail}, prev_hash, record_hash "
    "FROM audit_log WHERE seq > {anchor:d} AND seq <= {head:d} ORDER BY seq"
)  # ints, formatted in (paramstyles differ)
# PostgreSQL renders time and JSON as text on the server, in the form SQLite stores: the same fast path after.
_PG_COLUMNS = {
    "at": "to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
    "entries": "entries::text",
    "detail": "detail::text",
}
_PLAIN_COLUMNS = {"at": "recorded_at", "entries": "entries", "detail": "detail"}


def _utc_text(value: datetime | str) -> str:
    """recorded_at as log.canonical renders it; SQLite hands back the stored UTC text without a zone."""
    if type(value) is str and len(value) == 26 and value[10] == " ":  # SQLAlchemy's SQLite form, microseconds
        return value[:10] + "T" + (value[11:19] if value.endswith(".000000") else value[11:]) + "+00:00"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return as_utc(moment).isoformat()


@dataclass
class VerifyResult:
    records: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    anchor_seq: int = 0
    checkpoints_checked: int = 0
    signatures_checked: bool = False
    first_bad_seq: int | None = None
    problem: str | None = None
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process's CPU time: the figure that does not depend on other load
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def fail(self, seq: int, problem: str) -> VerifyResult:
        if self.problem is None:
            self.first_bad_seq, self.problem = seq, problem
        return self


def _signed_heads(
    conn: Connection, public_key: ec.EllipticCurvePublicKey | None, witnesses: Iterable[str], result: VerifyResult
) -> dict[int, set[str]]:
    """seq -> hashes that were signed at that seq (database checkpoints and witness copies)."""
    signed: dict[int, set[str]] = {}
    stored = conn.execute(
        select(audit_checkpoints.c.seq, audit_checkpoints.c.record_hash, audit_checkpoints.c.jws).order_by(
            audit_checkpoints.c.id
        )
    ).all()
    if public_key is None:
        result.notes.append("no public key: checkpoint signatures not checked")
        for row in stored:
            signed.setdefault(int(row.seq), set()).add(str(row.record_hash))
        return signed
    result.signatures_checked = True
    tokens: list[tuple[str, int | None, str | None]] = [(row.jws, int(row.seq), str(row.record_hash)) for row in stored]
    tokens += [(jws, None, None) for jws in witnesses]
    for jws, seq, head_hash in tokens:
        try:
            signed_seq, signed_hash = open_checkpoint(jws, public_key)
        except CheckpointError as exc:
            result.fail(seq or 0, f"checkpoint at seq {seq} does not verify: {exc}")
            continue
        if seq is not None and (signed_seq, signed_hash) != (seq, head_hash):
            result.fail(seq, f"checkpoint row at seq {seq} differs from what was signed")
        signed.setdefault(signed_seq, set()).add(signed_hash)
    return signed


def _raw_chunks(conn: Connection, sql: str, chunk: int) -> Iterator[list[Any]]:
    """Rows straight from the driver (a server-side cursor on PostgreSQL): SQLAlchemy's per-row work would
    cost more than the hashing. Runs inside the connection's transaction, so it sees one snapshot."""
    conn.exec_driver_sql("SELECT 1")  # make SQLAlchemy begin its transaction before we borrow the driver connection
    dbapi: Any = conn.connection.dbapi_connection
    cursor = dbapi.cursor(name="onestory_audit_verify") if conn.dialect.name == "postgresql" else dbapi.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(chunk):
            yield rows
    finally:
        cursor.close()


def verify(
    conn: Connection,
    public_key: ec.EllipticCurvePublicKey | None = None,
    witnesses: Iterable[str] = (),
    chunk: int = 20_000,
) -> VerifyResult:
    t0 = time.perf_counter()
    result = VerifyResult(cpu_seconds=time.process_time())
    # Checkpoints before the head: a checkpoint signs a committed head, so the head read after it is at or past
    # it even while the hub keeps appending; the chain is then checked up to that head.
    signed = _signed_heads(conn, public_key, witnesses, result)
    head_seq, head_hash, anchor_seq, anchor_hash = chain_head(conn)
    result.head_seq, result.head_hash, result.anchor_seq = head_seq, head_hash, anchor_seq
    if result.problem:
        return _done(result, t0)
    beyond = [s for s in signed if s > head_seq]
    if beyond:
        return _done(
            result.fail(
                head_seq + 1,
                f"a signed checkpoint at seq {min(beyond)} is beyond the chain head "
                f"(seq {head_seq}): records were removed",
            ),
            t0,
        )
    if anchor_seq in signed and signed[anchor_seq] - {anchor_hash}:
        return _done(result.fail(anchor_seq, "the purge anchor does not match a signed checkpoint"), t0)
    result.checkpoints_checked = sum(len(v) for s, v in signed.items() if s <= anchor_seq)

    prev, expected = anchor_hash, anchor_seq + 1
    columns = _PG_COLUMNS if conn.dialect.name == "postgresql" else _PLAIN_COLUMNS
    sql = _SQL.format(anchor=int(anchor_seq), head=int(head_seq), **columns)
    for rows in _raw_chunks(conn, sql, chunk):
        for row in rows:
            seq, at, entries, legit, detail, prev_hash, stored_hash = (
                row[0],
                row[1],
                row[10],
                row[14],
                row[15],
                row[16],
                row[17],
            )
            if seq != expected:
                if seq > head_seq:
                    return _done(result.fail(seq, f"record {seq} is beyond the chain head (seq {head_seq})"), t0)
                return _done(result.fail(expected, f"record {expected} is missing"), t0)
            if prev_hash != prev:
                problem = f"record {seq} does not follow record {seq - 1} (reordered, inserted, or changed before it)"
                return _done(result.fail(seq, problem), t0)
            # Raw driver values: SQLite returns JSON as text, booleans as 0/1 and times as zone-less UTC text.
            if type(entries) is str:
                entries = json.loads(entries)
            if type(detail) is str:
                detail = None if detail == "null" else json.loads(detail)
            encoded = canonical_json(
                row[2],
                row[3],
                row[4],
                row[5],
                row[6],
                row[7],
                row[8],
                row[9],
                entries,
                row[11],
                _utc_text(at),
                row[12],
                row[13],
                None if legit is None else bool(legit),
                detail,
            )
            digest = sha256((prev + encoded).encode()).hexdigest()
            if digest != stored_hash:
                return _done(result.fail(seq, f"record {seq} was altered (its hash does not match its content)"), t0)
            hashes = signed.get(seq)
            if hashes is not None:
                if hashes - {digest}:
                    problem = (
                        f"record {seq} does not match a signed checkpoint: the chain was rewritten at or before it"
                    )
                    return _done(result.fail(seq, problem), t0)
                result.checkpoints_checked += len(hashes)
            prev, expected = digest, expected + 1
        result.records += len(rows)
    last = expected - 1
    if last < head_seq:
        return _done(result.fail(last + 1, f"record {last + 1} is missing (the chain head is seq {head_seq})"), t0)
    if prev != head_hash:
        return _done(result.fail(last, f"record {last} does not match the chain head"), t0)
    forged = _beyond_head(conn)
    if forged is not None:
        return _done(result.fail(forged[0], f"record {forged[0]} is beyond the chain head (seq {forged[1]})"), t0)
    return _done(result, t0)


def _beyond_head(conn: Connection) -> tuple[int, int] | None:
    """A record no append put there: every append moves the head in its own transaction, so reading the
    highest seq first and the head second never flags a record appended while verification ran."""
    highest = conn.execute(select(func.max(audit_log.c.seq))).scalar()
    head = chain_head(conn)[0]
    if highest is None or highest <= head:
        return None
    first = conn.execute(select(func.min(audit_log.c.seq)).where(audit_log.c.seq > head)).scalar_one()
    return int(first), head


def _done(result: VerifyResult, t0: float) -> VerifyResult:
    result.seconds = time.perf_counter() - t0
    result.cpu_seconds = time.process_time() - result.cpu_seconds
    return result
