"""Group commit of access-log records: many request threads, one chain, nothing acknowledged uncommitted."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select

from hub.audit.group_commit import AuditWriter
from hub.audit.log import AuditRecord
from hub.audit.verify import verify
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.db.tables import audit_log

pytestmark = pytest.mark.integration


def _record(n: int) -> AuditRecord:
    return AuditRecord("read", "success", f"u{n}", "A81001", "gp", "direct-care", f"child-{n}", "timeline")


def test_concurrent_appends_form_one_valid_chain_and_a_failure_fails_only_its_request(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    upgrade(engine)
    writer = AuditWriter(engine)
    digests: dict[int, str] = {}
    errors: dict[int, BaseException] = {}
    followed: list[str] = []

    def follow_up(n: int) -> object:
        def then(conn: Connection, digest: str, _at: object) -> None:
            if n == 13:
                raise RuntimeError("the alert could not be raised")
            followed.append(digest)

        return then

    def request(n: int) -> None:
        try:
            digests[n] = writer.append(_record(n), follow_up(n))
        except RuntimeError as exc:
            errors[n] = exc

    threads = [threading.Thread(target=request, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert set(errors) == {13}  # fail closed for that request only: its record is not in the log
    assert set(digests) == set(range(40)) - {13}
    assert set(digests.values()) <= set(followed)  # each follow-up ran in its record's committed transaction
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.user_id, audit_log.c.record_hash).order_by(audit_log.c.seq)).all()
        assert len(rows) == 39 and "u13" not in {r.user_id for r in rows}
        assert {r.record_hash for r in rows} == set(digests.values())
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 39
        result = verify(conn)
    assert result.problem is None and result.records == 39
    engine.dispose()
