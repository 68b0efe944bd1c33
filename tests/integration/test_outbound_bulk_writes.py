"""The bulk writers the outbound feeds use store exactly what `conn.execute(insert, rows)` stores.

`hub.db.upsert._executemany` converts values column by column and converts a column holding one object
throughout once; this compares what it stores with SQLAlchemy's own executemany on both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import JSON, Column, DateTime, Integer, LargeBinary, MetaData, String, Table, create_engine, select

from hub.db import upsert
from hub.db.upsert import insert_all, insert_ignore_all, upsert_all

pytestmark = pytest.mark.integration
metadata = MetaData()


def _table(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True),
        Column("label", String(20)),
        Column("blob", LargeBinary),
        Column("doc", JSON),
        Column("at", DateTime(timezone=True)),
        Column("maybe", DateTime(timezone=True), nullable=True),
    )


bulk, reference = _table("bulk_write_probe"), _table("bulk_write_reference")


def _rows(first: int) -> list[dict[str, Any]]:
    now = datetime(2026, 12, 5, 9, 30, 1, 123456, tzinfo=UTC)
    plus_one = timezone(timedelta(hours=1))
    return [
        {
            "id": first + i,
            "label": f"r{i}",
            "blob": bytes([i, 0, 255]) * i,
            "doc": {"i": i, "t": "é"} if i % 2 else None,
            "at": now if i < 3 else datetime(2020, 1, 1, 12, i, tzinfo=plus_one),
            "maybe": None,
        }
        for i in range(6)
    ]


def _stored(conn: Any, table: Table) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(select(table).order_by(table.c.id))]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_bulk_writes_store_what_sqlalchemy_stores(backend: str, sqlite_url: str, pg_url: str) -> None:
    engine = create_engine(sqlite_url if backend == "sqlite" else pg_url)
    metadata.create_all(engine)
    try:
        with engine.begin() as conn:
            insert_all(conn, bulk, _rows(0))
            conn.execute(reference.insert(), _rows(0))
            insert_ignore_all(conn, bulk, _rows(3))  # ids 3..5 exist: skipped; 6..8 are new
            conn.execute(reference.insert(), _rows(3)[3:])
            changed = [r | {"label": "changed", "maybe": r["at"]} for r in _rows(2)]
            upsert_all(conn, bulk, changed)
            for row in changed:
                conn.execute(reference.delete().where(reference.c.id == row["id"]))
            conn.execute(reference.insert(), changed)
            insert_all(conn, bulk.c.id.table, [{"id": 100}])  # one column: a row of one value
            conn.execute(reference.insert(), [{"id": 100}])
            assert _stored(conn, bulk) == _stored(conn, reference)
    finally:
        metadata.drop_all(engine)
        engine.dispose()


serial = Table(
    "bulk_write_serial",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("label", String(20), nullable=False, unique=True),
    Column("blob", LargeBinary),
)
keyed = Table(
    "bulk_write_keyed",
    metadata,
    Column("a", String(10), primary_key=True),
    Column("b", String(10), primary_key=True),
    Column("v", String(20)),
    Column("at", DateTime(timezone=True)),
)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_bulk_writes_keep_the_order_given_and_the_last_of_a_repeated_key(
    backend: str, sqlite_url: str, pg_url: str
) -> None:
    """What executemany guarantees: serial keys in the order given, a repeated key's last values win, twice in
    one transaction (PostgreSQL stages the rows in a temporary table)."""
    engine = create_engine(sqlite_url if backend == "sqlite" else pg_url)
    metadata.create_all(engine)
    try:
        with engine.begin() as conn:
            labels = [f"l{(i * 7919) % 3001}" for i in range(3001)] + ["l5", "l17"]  # last two repeat
            insert_ignore_all(conn, serial, [{"label": label, "blob": label.encode()} for label in labels])
            insert_ignore_all(conn, serial, [{"label": "late", "blob": None}, {"label": "l1", "blob": b""}])
            stored = conn.execute(select(serial.c.label, serial.c.blob).order_by(serial.c.seq)).all()
            assert [label for label, _ in stored] == labels[:3001] + ["late"]
            assert all(blob == label.encode() for label, blob in stored[:3001])
            now = datetime(2026, 12, 5, tzinfo=UTC)
            rows = [{"a": f"a{i % 50}", "b": f"b{i % 7}", "v": f"v{i}", "at": now} for i in range(1000)]
            upsert_all(conn, keyed, rows)
            upsert_all(conn, keyed, rows[:3] + [rows[0] | {"v": "again"}])
            expected: dict[tuple[str, str], str] = {}
            for row in [*rows, *rows[:3], rows[0] | {"v": "again"}]:
                expected[(row["a"], row["b"])] = row["v"]
            assert {(a, b): v for a, b, v, _ in conn.execute(select(keyed))} == expected
    finally:
        metadata.drop_all(engine)
        engine.dispose()


def test_postgresql_copies_bulk_rows_through_a_statement_built_from_the_table(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several rows go through COPY into a staging table shaped like the target, then one INSERT ... SELECT."""
    copied: list[tuple[str, str]] = []
    execute = upsert._CopyInsert.execute

    def spy(self: upsert._CopyInsert, conn: Any, chunks: list[list[tuple[Any, ...]]]) -> None:
        copied.append((self.copy, " ".join(self.insert.split())))
        execute(self, conn, chunks)

    monkeypatch.setattr(upsert._CopyInsert, "execute", spy)
    engine = create_engine(pg_url)
    metadata.create_all(engine)
    try:
        with engine.begin() as conn:
            insert_ignore_all(conn, keyed, [{"a": "x", "b": "y", "v": "1", "at": None}] * 2)
            assert conn.execute(select(keyed.c.a, keyed.c.b, keyed.c.v)).all() == [("x", "y", "1")]
    finally:
        metadata.drop_all(engine)
        engine.dispose()
    stage = "bulk_bulk_write_keyed"
    assert copied == [
        (
            f"COPY {stage} (a, b, v, at, bulk_n) FROM STDIN",
            f"INSERT INTO bulk_write_keyed (a, b, v, at) SELECT {stage}.a, {stage}.b, {stage}.v, {stage}.at "
            f"FROM {stage} ORDER BY {stage}.bulk_n ON CONFLICT DO NOTHING",
        )
    ]
