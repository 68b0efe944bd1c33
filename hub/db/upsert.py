"""Portable "insert, ignoring rows that already exist" for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
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


def _processed(process: Any, column: Sequence[Any]) -> Sequence[Any]:
    """`[process(v) for v in column]`, processing once when every value is the same object (a batch's `now`,
    an unset column's None): a bind processor is a function of its value, so the result is the same."""
    first = column[0]
    if all(value is first for value in column):
        return [process(first)] * len(column)
    return list(map(process, column))


def _executemany(conn: Connection, table: Table, statement: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Run an INSERT over many rows as one DBAPI executemany, converting values with each column type's own
    bind processor: the same statement and stored values as `conn.execute(statement, rows)`, without its
    per-row parameter handling, which costs more than SQLite's own insert for narrow rows.

    Values are gathered and converted column by column (C-level itemgetter, map and zip rather than a Python
    loop per row and value), and a column holding one object throughout is converted once.
    """
    dialect = conn.dialect
    keys = list(rows[0])
    compiled = statement.compile(dialect=dialect, column_keys=keys, for_executemany=True)
    names = list(compiled.positiontup or ()) if dialect.positional else keys
    processors = [table.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in names]
    convert = [(i, p) for i, p in enumerate(processors) if p is not None]
    if len(names) == 1:
        values: list[Any] = [(row[names[0]],) for row in rows]
    else:
        values = list(map(itemgetter(*names), rows))
    if convert:
        columns: list[Sequence[Any]] = list(zip(*values, strict=True))
        for i, process in convert:
            columns[i] = _processed(process, columns[i])
        values = list(zip(*columns, strict=True))
    params: list[Any] = values if dialect.positional else [dict(zip(names, v, strict=True)) for v in values]
    conn.exec_driver_sql(str(compiled), params)


def insert_all(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """A plain bulk INSERT as one executemany: a duplicate key is an error, as with `conn.execute(insert)`."""
    if rows:
        _executemany(conn, table, table.insert(), rows)


def insert_ignore_all(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """`insert_ignore` without the count: one executemany, no RETURNING, rows inserted in the order given.

    For bulk writers that need neither the count nor the keys back (an outbox whose sequence must follow
    the order the records were decided in). Every row must carry the same columns.
    """
    if rows:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        _executemany(conn, table, insert(table).on_conflict_do_nothing(), rows)


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
    _executemany(conn, table, statement.on_conflict_do_update(index_elements=keys, set_=changed), rows)
