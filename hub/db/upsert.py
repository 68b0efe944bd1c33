"""Portable "insert, ignoring rows that already exist" for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """Returns how many rows were inserted; duplicates of a unique key are skipped, not errors."""
    if not rows:
        return 0
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    # Counted from RETURNING: PostgreSQL reports rowcount -1 for ON CONFLICT DO NOTHING executemany.
    statement = insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return len(conn.execute(statement, list(rows)).all())


def insert_ignore_all(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """`insert_ignore` without the count: one executemany, no RETURNING, rows inserted in the order given.

    For bulk writers that need neither the count nor the keys back (an outbox whose sequence must follow
    the order the records were decided in).
    """
    if rows:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(insert(table).on_conflict_do_nothing(), list(rows))


def upsert_all(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows, or update every non-key column of a row whose primary key exists: one executemany.

    Rows are applied in order, so a key given twice ends with its last values, as separate updates would.
    Every row must carry the same columns.
    """
    if not rows:
        return
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    keys = [c.name for c in table.primary_key.columns]
    statement = insert(table)
    changed = {name: statement.excluded[name] for name in rows[0] if name not in keys}
    conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=changed), list(rows))
