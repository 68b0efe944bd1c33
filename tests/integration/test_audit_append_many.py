"""`append_many` on real SQLite and PostgreSQL: the chain it writes is the chain repeated `append` writes.

The outbound feeds write one disclosure record per recipient and child of a batch in one go; the records must
get the same contiguous sequence numbers, the same hashes and the same head as appending them one by one,
mixed with single appends, from an empty chain and from a schema without a head row (create_all).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from hub.audit.log import AuditRecord, append, append_many, chain_head
from hub.audit.verify import verify
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.db.tables import audit_log, metadata

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _record(i: int) -> AuditRecord:
    return AuditRecord(
        action="disclosure" if i % 2 else "read",
        outcome="success",
        user_id=f"feed:org-{i % 3}",
        organisation=f"org-{i % 3}",
        role="camhs-clinician",
        purpose="direct-care",
        child_id=f"child-{i % 4}",
        query="onestory.out.RX4.v1",
        entries=[{"id": f"entry-{i}-{j}", "level": "summary"} for j in range(i % 3)],
        policy_version="2026.11" if i % 2 else None,
        reason="consent C1" if i % 3 else None,
        detail={"channel": "onestory.out.RX4.v1", "retracted": [f"entry-{i}"]} if i % 2 else None,
    )


def _chain(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(audit_log).order_by(audit_log.c.seq)).mappings()]


def _write(engine: Engine, many: bool) -> list[str]:
    """Records 0..11: batches of three (the first write: it starts a missing head), one append, a batch of two,
    an empty batch, one append, a batch of five; or the same records one `append` each."""
    records = [_record(i) for i in range(12)]
    if not many:
        with engine.begin() as conn:
            digests = [append(conn, r, T0) for r in records[:6]]
        with engine.begin() as conn:
            return digests + [append(conn, r, T0) for r in records[6:]]
    with engine.begin() as conn:
        digests = append_many(conn, records[:3], T0)
        digests.append(append(conn, records[3], T0))
        digests += append_many(conn, records[4:6], T0)
    with engine.begin() as conn:
        assert append_many(conn, [], T0) == []
        digests.append(append(conn, records[6], T0))
        return digests + append_many(conn, records[7:], T0)


@pytest.mark.parametrize("schema", ["migrated", "create_all"])
def test_append_many_writes_the_chain_repeated_append_writes(database_url: str, tmp_path: Any, schema: str) -> None:
    many = make_engine(database_url)
    single = make_engine(f"sqlite:///{tmp_path / 'single.db'}")
    for engine in (many, single):
        if schema == "migrated":
            upgrade(engine)
        else:
            metadata.create_all(engine)  # no head row: the first append starts it
    assert _write(many, many=True) == _write(single, many=False)
    got, want = _chain(many), _chain(single)
    assert [r["seq"] for r in got] == list(range(1, 13))
    for row, expected in zip(got, want, strict=True):
        assert {k: row[k] for k in ("seq", "prev_hash", "record_hash", "action", "entries", "detail")} == {
            k: expected[k] for k in ("seq", "prev_hash", "record_hash", "action", "entries", "detail")
        }
    with many.connect() as conn, single.connect() as other:
        assert chain_head(conn)[:2] == chain_head(other)[:2] == (12, got[-1]["record_hash"])
        checked = verify(conn)
    assert checked.problem is None and checked.records == 12
    many.dispose()
    single.dispose()
