"""The access log: one hash-chained record per access or governance act, written before any data leaves.

Each record commits to the previous record's hash, so altering, deleting, inserting or reordering records
breaks the chain (`hub.audit.verify`); signed checkpoints (`hub.audit.checkpoints`) pin the head so that a
chain rewritten from some point on no longer matches what was signed.

Records are shaped like IHE BALP AuditEvents (who, organisation, role, purpose, patient, action, outcome,
which entries at which level, policy version, client address, time) and carry metadata only, never clinical
content: IG officers read them.

Canonical form: the skeleton's fields always, `recorded_at` as an ISO-8601 UTC string (naive values read back
from SQLite are UTC), and each newer optional field only when it is set. Records written before the optional
fields existed therefore verify unchanged, and the same row hashes the same after a SQLite or PostgreSQL
round-trip.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, text, update

from hub.db.audit_tables import audit_chain_head
from hub.db.tables import audit_log
from hub.db.upsert import insert_all
from hub.telemetry.spans import audit_span

GENESIS = "0" * 64
HEAD_ID = 1

# BALP-style actions; free text is accepted so that new access paths need no change here.
READ, QUERY, DENY, BREAK_GLASS = "read", "query", "deny", "break-glass"
CONSENT_CHANGE, IDENTITY_LINK, IDENTITY_UNLINK, POLICY_CHANGE = (
    "consent-change",
    "identity-link",
    "identity-unlink",
    "policy-change",
)
IG_ACCESS, IG_REVIEW, PURGE = "ig-access", "ig-review", "purge"

BASE_FIELDS = (
    "action",
    "outcome",
    "user_id",
    "organisation",
    "role",
    "purpose",
    "child_id",
    "query",
    "entries",
    "client_address",
)
OPTIONAL_FIELDS = ("policy_version", "reason", "legitimate_relationship", "detail")


@dataclass(frozen=True)
class AuditRecord:
    action: str  # read | query | deny | break-glass | consent-change | identity-link | ... (see constants)
    outcome: str  # success | denied | not-found | error
    user_id: str
    organisation: str
    role: str
    purpose: str
    child_id: str | None = None
    query: str | None = None
    entries: list[dict[str, str]] = field(default_factory=list)  # [{"id": ..., "level": ...}]
    client_address: str | None = None
    policy_version: str | None = None
    reason: str | None = None  # break-glass justification, or why a governance act was taken
    legitimate_relationship: bool | None = None  # None: not assessed on this path
    detail: dict[str, Any] | None = None  # governance metadata (consent id, linked child, purge range): no content


def as_utc(moment: datetime) -> datetime:
    """Aware UTC; naive values are UTC by convention (SQLite hands back what it was given, without the zone)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def canonical(row: Mapping[str, Any]) -> dict[str, Any]:
    """The hashed view of a record, from a dataclass dict or a stored row alike."""
    out = {name: row[name] for name in BASE_FIELDS}
    out["entries"] = list(row["entries"] or [])
    out["recorded_at"] = as_utc(row["recorded_at"]).isoformat()
    for name in OPTIONAL_FIELDS:
        value = row.get(name)
        if value is not None:
            out[name] = value
    return out


# One encoder for every hash: json.dumps with options builds a new encoder per call, a third of the cost.
_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode
_quote: Any = getattr(json.encoder, "c_encode_basestring_ascii", None) or json.encoder.py_encode_basestring_ascii


def record_hash(prev_hash: str, record: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + _encode(record)).encode()).hexdigest()


class EncodedEntries(list[dict[str, str]]):
    """An access record's entry list with its canonical JSON made once: the reads of one child by one kind of
    viewer disclose the same entries (hub.read.story shares one list per outcome), and encoding a 500-entry
    list for the hash is most of an append. Never mutated after it is made: a changed length is encoded again."""

    def __init__(self, entries: list[dict[str, str]]) -> None:
        super().__init__(entries)
        self.canonical = _encode(list(self))
        self._length = len(self)


def _entries_json(entries: Any) -> str:
    if isinstance(entries, EncodedEntries) and len(entries) == entries._length:
        return entries.canonical
    return _encode(list(entries or []))


def _json(value: Any) -> str:
    if value is None:
        return "null"
    return _quote(value) if type(value) is str else _encode(value)


def canonical_json(
    action: Any,
    outcome: Any,
    user_id: Any,
    organisation: Any,
    role: Any,
    purpose: Any,
    child_id: Any,
    query: Any,
    entries: Any,
    client_address: Any,
    recorded_at: str,
    policy_version: Any = None,
    reason: Any = None,
    legitimate_relationship: Any = None,
    detail: Any = None,
) -> str:
    """Exactly `_encode(canonical(row))`, built field by field in sorted key order: verification's hot path.

    About twice as fast as encoding the dict (no dict to build, no key sort); a unit test holds the two equal.
    """
    parts = ['{"action":', _json(action), ',"child_id":', _json(child_id), ',"client_address":', _json(client_address)]
    if detail is not None:
        parts += [',"detail":', _encode(detail)]
    parts += [',"entries":', _entries_json(entries)]
    if legitimate_relationship is not None:
        parts.append(
            ',"legitimate_relationship":true' if legitimate_relationship else ',"legitimate_relationship":false'
        )
    parts += [',"organisation":', _json(organisation), ',"outcome":', _json(outcome)]
    if policy_version is not None:
        parts += [',"policy_version":', _json(policy_version)]
    parts += [',"purpose":', _json(purpose), ',"query":', _json(query)]
    if reason is not None:
        parts += [',"reason":', _json(reason)]
    parts += [',"recorded_at":', _quote(recorded_at), ',"role":', _json(role), ',"user_id":', _json(user_id), "}"]
    return "".join(parts)


_FIELD_NAMES = tuple(f.name for f in fields(AuditRecord))


def append(conn: Connection, record: AuditRecord, now: datetime) -> str:
    """Append inside the caller's transaction; the caller commits before sending its response.

    The head row is updated first: on SQLite that takes the database write lock before the head is read (so
    two writers cannot both extend the same head), on PostgreSQL it row-locks the head under the advisory lock.
    Sequence numbers are contiguous, which lets verification name a deleted record.
    """
    return append_many(conn, [record], now)[0]


def chain_head(conn: Connection) -> tuple[int, str, int, str]:
    """(seq, hash, anchor seq, anchor hash) as the head row says; verification checks the rows agree."""
    row = conn.execute(select(audit_chain_head).where(audit_chain_head.c.id == HEAD_ID)).one()
    return int(row.seq), str(row.record_hash), int(row.anchor_seq), str(row.anchor_hash)


# Built once: every read's audit goes through append_many, and building these per batch was a measurable part
# of a cached read's CPU (docs/scaling.md).
_ADVANCE = (
    update(audit_chain_head)
    .where(audit_chain_head.c.id == HEAD_ID)
    .values(seq=audit_chain_head.c.seq + bindparam("count"))
)
_HEAD = select(audit_chain_head.c.seq, audit_chain_head.c.record_hash).where(audit_chain_head.c.id == HEAD_ID)
_MOVE_HEAD = update(audit_chain_head).where(audit_chain_head.c.id == HEAD_ID).values(record_hash=bindparam("new_hash"))


def append_many(conn: Connection, records: list[AuditRecord], now: datetime) -> list[str]:
    """Append `records` in order inside the caller's transaction, as repeated `append` would; their hashes.

    The same contiguous sequence numbers, hashes and final head as one `append` per record, but the head is
    locked and moved once and the rows go in one executemany: a batch that discloses to many recipients
    writes one record per recipient and child without a round trip per record. The head is advanced by the
    whole count first, which takes the same locks as `append` (SQLite's write lock, PostgreSQL's advisory
    lock and the head row) before the head is read.
    """
    if not records:
        return []
    at = as_utc(now)
    actions = {(r.action, r.outcome) for r in records}
    action, outcome = next(iter(actions)) if len(actions) == 1 else ("mixed", "mixed")
    with audit_span(action, outcome, sum(len(r.entries) for r in records)):
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7253001)"))  # one chain head across API replicas
        count = {"count": len(records)}
        if conn.execute(_ADVANCE, count).rowcount == 0:  # no head yet (a create_all schema): start it as `append` does
            last = conn.execute(
                select(audit_log.c.seq, audit_log.c.record_hash).order_by(audit_log.c.seq.desc()).limit(1)
            ).first()
            conn.execute(
                audit_chain_head.insert().values(
                    id=HEAD_ID,
                    seq=last[0] if last else 0,
                    record_hash=last[1] if last else GENESIS,
                    anchor_seq=0,
                    anchor_hash=GENESIS,
                )
            )
            conn.execute(_ADVANCE, count)
        head = conn.execute(_HEAD).one()
        seq, prev = int(head.seq) - len(records), str(head.record_hash)
        rows, digests = [], []
        stamp = at.isoformat()
        for record in records:
            values = {name: getattr(record, name) for name in _FIELD_NAMES}  # asdict would deep-copy the entries
            # canonical_json is exactly _encode(canonical(...)) (tests/unit/audit/test_canonical.py), faster, and
            # takes an EncodedEntries' JSON as made.
            digest = hashlib.sha256((prev + canonical_json(**values, recorded_at=stamp)).encode()).hexdigest()
            seq += 1
            rows.append({"seq": seq, **values, "recorded_at": at, "prev_hash": prev, "record_hash": digest})
            digests.append(digest)
            prev = digest
        insert_all(conn, audit_log, rows)  # one executemany, values bind-processed as conn.execute would
        conn.execute(_MOVE_HEAD, {"new_hash": prev})
        return digests
