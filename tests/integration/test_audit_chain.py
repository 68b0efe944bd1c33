"""The access log's hash chain on real SQLite and PostgreSQL: tampering with the database is always detected.

Each test appends records through `append` (as the API does), signs a checkpoint, then edits the database
directly with SQL, as someone with database access would, and checks that `verify` names the first bad record.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from hub.audit.checkpoints import checkpoint_and_export, read_witnesses
from hub.audit.log import AuditRecord, append, canonical, record_hash
from hub.audit.retention import PurgeRefused, place_hold, purge
from hub.audit.verify import VerifyResult, verify
from hub.auth.tokens import load_or_create_signing_key
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.db.tables import audit_log

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _record(i: int, child: str = "child-1", **extra: Any) -> AuditRecord:
    return AuditRecord(
        action="read",
        outcome="success",
        user_id=f"user-{i % 3}",
        organisation="RX1",
        role="gp",
        purpose="direct-care",
        child_id=child,
        query="timeline",
        entries=[{"id": f"entry-{i}", "level": "summary"}],
        client_address="127.0.0.1",
        policy_version="2026.11",
        legitimate_relationship=i % 2 == 0,
        **extra,
    )


@pytest.fixture
def chain(database_url: str, tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    """Ten records and a signed checkpoint at seq 10."""
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as conn:
        for i in range(1, 11):
            append(
                conn,
                _record(i, detail={"n": i} if i == 7 else None, reason="urgent" if i == 8 else None),
                T0 + timedelta(minutes=i, microseconds=i),
            )
    checkpoint_and_export(engine, load_or_create_signing_key(tmp_path), tmp_path, None)
    yield engine, tmp_path
    engine.dispose()


def _verify(engine: Engine, data_dir: Path) -> VerifyResult:
    with engine.connect() as conn:
        return verify(conn, load_or_create_signing_key(data_dir).public_key(), read_witnesses(data_dir))


def _sql(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def test_an_untouched_chain_verifies_after_the_database_round_trip(chain: tuple[Engine, Path]) -> None:
    result = _verify(*chain)
    assert result.ok, result.problem
    assert (result.records, result.head_seq, result.checkpoints_checked) == (10, 10, 1)  # one signed head, two copies


def test_a_changed_field_is_named(chain: tuple[Engine, Path]) -> None:
    _sql(chain[0], "UPDATE audit_log SET user_id = 'someone-else' WHERE seq = 5")
    result = _verify(*chain)
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "altered" in (result.problem or "")


def test_a_changed_optional_field_is_named(chain: tuple[Engine, Path]) -> None:
    _sql(chain[0], "UPDATE audit_log SET reason = NULL WHERE seq = 8")
    assert _verify(*chain).first_bad_seq == 8


def test_a_deleted_record_is_named(chain: tuple[Engine, Path]) -> None:
    _sql(chain[0], "DELETE FROM audit_log WHERE seq = 4")
    result = _verify(*chain)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "missing" in (result.problem or "")


def test_a_deleted_tail_is_detected_even_with_the_head_row_rewritten(chain: tuple[Engine, Path]) -> None:
    engine, _ = chain
    with engine.connect() as conn:
        hash8 = conn.execute(text("SELECT record_hash FROM audit_log WHERE seq = 8")).scalar_one()
    _sql(engine, "DELETE FROM audit_log WHERE seq > 8", f"UPDATE audit_chain_head SET seq = 8, record_hash = '{hash8}'")
    result = _verify(*chain)
    assert (result.ok, result.first_bad_seq) == (False, 9)


def test_an_inserted_forged_record_is_named(chain: tuple[Engine, Path]) -> None:
    engine, _ = chain
    with engine.connect() as conn:
        prev = conn.execute(text("SELECT record_hash FROM audit_log WHERE seq = 10")).scalar_one()
    forged = _record(99)
    digest = record_hash(prev, canonical({**forged.__dict__, "recorded_at": T0 + timedelta(hours=1)}))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (seq, recorded_at, action, outcome, user_id, organisation, role, purpose, "
                "child_id, query, entries, client_address, policy_version, legitimate_relationship, prev_hash, "
                "record_hash) VALUES (11, :at, 'read', 'success', 'user-0', 'RX1', 'gp', 'direct-care', 'child-1', "
                "'timeline', :entries, '127.0.0.1', '2026.11', :legit, :prev, :digest)"
            ),
            {
                "at": T0 + timedelta(hours=1),
                "entries": '[{"id": "entry-99", "level": "summary"}]',
                "legit": False,
                "prev": prev,
                "digest": digest,
            },
        )
    result = _verify(*chain)
    assert (result.ok, result.first_bad_seq) == (False, 11)


def test_swapped_records_are_named(chain: tuple[Engine, Path]) -> None:
    _sql(
        chain[0],
        "UPDATE audit_log SET seq = -1 WHERE seq = 4",
        "UPDATE audit_log SET seq = 4 WHERE seq = 5",
        "UPDATE audit_log SET seq = 5 WHERE seq = -1",
    )
    result = _verify(*chain)
    assert (result.ok, result.first_bad_seq) == (False, 4)


def _rewrite_from(engine: Engine, seq: int) -> None:
    """What a capable attacker does: change a record and re-hash everything after it, head row included."""
    with engine.begin() as conn:
        typed = [dict(r._mapping) for r in conn.execute(audit_log.select().order_by(audit_log.c.seq))]
        prev = typed[seq - 2]["record_hash"] if seq > 1 else "0" * 64
        for row in typed[seq - 1 :]:
            if row["seq"] == seq:
                row["user_id"] = "nobody"
            digest = record_hash(prev, canonical(row))
            conn.execute(
                audit_log.update()
                .where(audit_log.c.seq == row["seq"])
                .values(user_id=row["user_id"], prev_hash=prev, record_hash=digest)
            )
            prev = digest
        conn.execute(text("UPDATE audit_chain_head SET record_hash = :h"), {"h": prev})


def test_a_rewritten_and_rehashed_chain_no_longer_matches_its_signed_checkpoint(chain: tuple[Engine, Path]) -> None:
    engine, data_dir = chain
    _rewrite_from(engine, 3)
    with engine.connect() as conn:
        unsigned = verify(conn)  # without the key and the witnesses the rewrite is self-consistent ...
    assert unsigned.first_bad_seq == 10  # ... except for the stored checkpoint row's hash
    result = _verify(engine, data_dir)
    assert (result.ok, result.first_bad_seq) == (False, 10)
    assert "checkpoint" in (result.problem or "")


def test_the_witness_file_catches_a_rewrite_that_also_deleted_the_checkpoint_rows(chain: tuple[Engine, Path]) -> None:
    engine, data_dir = chain
    _rewrite_from(engine, 3)
    _sql(engine, "DELETE FROM audit_checkpoints")
    with engine.connect() as conn:
        assert verify(conn).ok  # nothing in the database can tell any more
    result = _verify(engine, data_dir)
    assert (result.ok, result.first_bad_seq) == (False, 10)


def test_a_forged_checkpoint_signature_is_refused(chain: tuple[Engine, Path]) -> None:
    engine, data_dir = chain
    _sql(engine, "UPDATE audit_checkpoints SET jws = jws || 'x'")
    result = _verify(engine, data_dir)
    assert not result.ok and "does not verify" in (result.problem or "")


def test_concurrent_appends_keep_one_chain(chain: tuple[Engine, Path]) -> None:
    engine, data_dir = chain
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                with engine.begin() as conn:
                    conn.execute(text("SELECT count(*) FROM audit_log"))  # a read before the append, like the API
                    append(conn, _record(100 * n + i), datetime.now(UTC))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    result = _verify(engine, data_dir)
    assert result.ok, result.problem
    assert result.records == 10 + 6 * 15


def test_purge_keeps_the_chain_verifiable_and_respects_legal_hold(chain: tuple[Engine, Path]) -> None:
    engine, data_dir = chain
    now = T0 + timedelta(days=40)
    with engine.begin() as conn:
        place_hold(conn, "child-held", "litigation", "ig-1", now)
        for i in range(3):
            append(conn, _record(50 + i, child="child-held"), now)
    with pytest.raises(PurgeRefused, match="within retention"), engine.begin() as conn:
        purge(conn, 50, now, "ig-1", up_to_seq=10)
    with pytest.raises(PurgeRefused, match="legal hold"), engine.begin() as conn:
        purge(conn, 1, now + timedelta(days=2), "ig-1", up_to_seq=12)
    with engine.begin() as conn:
        result = purge(conn, 30, now, "ig-1")
    assert (result.from_seq, result.to_seq, result.purged) == (1, 10, 10)
    checkpoint_and_export(engine, load_or_create_signing_key(data_dir), data_dir, None)
    verified = _verify(engine, data_dir)
    assert verified.ok, verified.problem
    assert (verified.anchor_seq, verified.records, verified.head_seq) == (10, 4, 14)  # 3 held + the purge record
    _sql(engine, "DELETE FROM audit_log WHERE seq = 11")
    assert _verify(engine, data_dir).first_bad_seq == 11


def test_the_cli_names_the_first_bad_record(chain: tuple[Engine, Path], database_url: str) -> None:
    engine, data_dir = chain
    cmd = [sys.executable, "-m", "hub", "audit", "verify", "--database", database_url, "--data-dir", str(data_dir)]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: 10 records"), ok.stderr
    _sql(engine, "UPDATE audit_log SET purpose = 'safeguarding' WHERE seq = 6")
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "first bad record seq=6" in bad.stderr


def test_the_cli_writes_a_disclosure_report_and_a_checkpoint(
    chain: tuple[Engine, Path], database_url: str, tmp_path: Path
) -> None:
    engine, data_dir = chain
    base = [sys.executable, "-m", "hub", "audit"]
    where = ["--database", database_url, "--data-dir", str(data_dir)]
    for fmt in ("csv", "pdf"):
        out = tmp_path / f"report.{fmt}"
        done = subprocess.run(
            [*base, "report", *where, "--child", "child-1", "--format", fmt, "--out", str(out), "--actor", "ig-1"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    lines = (tmp_path / "report.csv").read_text().splitlines()
    assert lines[0].startswith("When (UTC),Who") and len(lines) == 11
    made = subprocess.run([*base, "checkpoint", *where], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0 and made.stdout.startswith("checkpoint seq=12"), made.stderr  # 10 + 2 reports
    assert len(read_witnesses(data_dir)) == 2
    result = _verify(engine, data_dir)
    assert result.ok and result.head_seq == 12


def test_records_written_before_this_revision_still_verify(database_url: str, tmp_path: Path) -> None:
    """The skeleton wrote records with its own hash (no head row, no optional fields); 0003 adopts its chain."""
    engine = make_engine(database_url)
    upgrade(engine, "0001")
    prev = "0" * 64
    with engine.begin() as conn:
        for i in range(1, 4):
            at = T0 + timedelta(minutes=i)
            old = {
                "action": "read",
                "outcome": "success",
                "user_id": "u1",
                "organisation": "RX1",
                "role": "gp",
                "purpose": "direct-care",
                "child_id": "c1",
                "query": "timeline",
                "entries": [{"id": f"e{i}", "level": "full"}],
                "client_address": None,
                "recorded_at": at.isoformat(),
            }
            digest = record_hash(prev, old)
            conn.execute(
                text(
                    "INSERT INTO audit_log (recorded_at, action, outcome, user_id, organisation, role, purpose, "
                    "child_id, query, entries, client_address, prev_hash, record_hash) VALUES (:at, 'read', "
                    "'success', 'u1', 'RX1', 'gp', 'direct-care', 'c1', 'timeline', :entries, NULL, :prev, :h)"
                ),
                {"at": at, "entries": json.dumps(old["entries"]), "prev": prev, "h": digest},
            )
            prev = digest
    upgrade(engine)
    with engine.begin() as conn:
        append(conn, _record(4), T0 + timedelta(minutes=4))
    result = _verify(engine, tmp_path)
    assert result.ok, result.problem
    assert (result.records, result.head_seq) == (4, 4)
    engine.dispose()


def test_a_schema_made_without_the_migration_still_gets_one_chain() -> None:
    """create_all (some tools' fixtures) makes an empty head table: the first append starts the head row."""
    from hub.db.tables import metadata

    engine = make_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        for i in range(3):
            append(conn, _record(i), T0 + timedelta(seconds=i))
    with engine.connect() as conn:
        result = verify(conn)
    assert result.ok and result.records == 3


def test_verification_while_the_hub_keeps_appending_raises_no_false_alarm(chain: tuple[Engine, Path]) -> None:
    engine, data_dir = chain
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            with engine.begin() as conn:
                append(conn, _record(1000 + i), datetime.now(UTC))
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        results = []
        for _ in range(8):
            results.append(_verify(engine, data_dir))
            checkpoint_and_export(engine, load_or_create_signing_key(data_dir), data_dir, None)
    finally:
        stop.set()
        thread.join()
    assert all(r.ok for r in results), [r.problem for r in results if not r.ok]
    assert results[-1].head_seq > 10
