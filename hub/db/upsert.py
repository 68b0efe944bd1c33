"""Portable "insert, ignoring rows that already exist" for SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
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


def _tuples(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The rows' columns (the first row's keys) and each row's values in that order."""
    keys = list(rows[0])
    get = itemgetter(*keys) if len(keys) > 1 else lambda row: (row[keys[0]],)
    return keys, list(map(get, rows))


def _executemany(conn: Connection, table: Table, statement: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Run an INSERT over many rows as one DBAPI executemany, converting values with each column type's own
    bind processor: the same statement and stored values as `conn.execute(statement, rows)`, without its
    per-row parameter handling, which costs more than SQLite's own insert for narrow rows."""
    _executemany_values(conn, table, statement, *_tuples(rows))


def _executemany_values(
    conn: Connection,
    table: Table,
    statement: Any,
    columns: Sequence[str],
    values: list[tuple[Any, ...]],
    unique: Sequence[str] | None = None,
) -> None:
    """`_executemany` of rows given as tuples of `columns`' values (no dict per row to build and take apart).

    Values are converted column by column (C-level map and zip rather than a Python loop per row and
    value), and a column holding one object throughout is converted once.
    """
    dialect = conn.dialect
    keys = list(columns)
    compiled = statement.compile(dialect=dialect, column_keys=keys, for_executemany=True)
    names = list(compiled.positiontup or ()) if dialect.positional else keys
    if names != keys:
        values = (
            list(map(itemgetter(*[keys.index(name) for name in names]), values))
            if len(names) > 1
            else [(v[keys.index(names[0])],) for v in values]
        )
    processors = [table.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in names]
    convert = [(i, p) for i, p in enumerate(processors) if p is not None]
    if convert:
        by_column: list[Sequence[Any]] = list(zip(*values, strict=True))
        for i, process in convert:
            by_column[i] = _processed(process, by_column[i])
        values = list(zip(*by_column, strict=True))
    sql = str(compiled)
    if dialect.name == "postgresql" and len(values) > 1:
        copied = _CopyInsert.of(table, dialect, sql, names)
        if copied is not None and _may_stage(conn):
            chunks = list(_chunks(values, len(values), None if unique is None else [names.index(k) for k in unique]))
            if len(chunks) <= _MAX_STAGED_CHUNKS:  # a key repeated all through: executemany's round trips are fewer
                copied.execute(conn, chunks)
                return
    params: list[Any] = values if dialect.positional else [dict(zip(names, v, strict=True)) for v in values]
    conn.exec_driver_sql(sql, params)


class _CopyInsert:
    """A one-row `INSERT ... VALUES (...) [ON CONFLICT ...]` over many rows through COPY, on PostgreSQL.

    psycopg runs an executemany as one pipelined execution per row, whose client-side cost (preparing,
    dumping, pipelining and reading each result) is several times the insert's own: ~6.5 us of CPU a row,
    where COPY formats rows in C at under 1 us. The rows are copied, each with its position, into a
    temporary table shaped like the target's columns (dropped at commit), then `INSERT ... SELECT ...
    ORDER BY` the position with the statement's own ON CONFLICT clause: the same rows inserted in the order
    given (a serial key follows it, as with executemany), in the caller's transaction.

    ON CONFLICT DO UPDATE may not touch a row twice in one statement, where executemany applies rows in
    turn: a chunk ends before a row whose key it already holds (`unique`), so the later row still wins.
    """

    _cache: dict[tuple[str, str, tuple[str, ...]], _CopyInsert | None] = {}

    def __init__(self, create: str, copy: str, insert: str, clear: str) -> None:
        self.create, self.copy, self.insert, self.clear = create, copy, insert, clear

    @classmethod
    def of(cls, table: Table, dialect: Any, sql: str, names: list[str]) -> _CopyInsert | None:
        key = (table.fullname, sql, tuple(names))
        if key not in cls._cache:
            cls._cache[key] = cls._parse(table, dialect, sql, names)
        return cls._cache[key]

    @classmethod
    def _parse(cls, table: Table, dialect: Any, sql: str, names: list[str]) -> _CopyInsert | None:
        """The statements for the INSERT's rows through a COPY, or None if it is not that simple."""
        start = sql.find(" VALUES (")
        if not sql.startswith("INSERT INTO ") or start < 0 or "%" in sql[:start]:
            return None
        open_at, depth = start + len(" VALUES "), 0
        for end in range(open_at, len(sql)):
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            if depth == 0:
                break
        else:
            return None
        group, tail = sql[open_at : end + 1], sql[end + 1 :]
        if _PARAM.findall(group) != names or "%" in tail or "'" in group or "bulk_n" in names:
            return None
        quote = dialect.identifier_preparer
        columns = ", ".join(quote.quote(name) for name in names)
        # Only bound values (with their type casts) into exactly the named columns: nothing the server
        # would compute per row, which the staged rows would not carry.
        if sql[:start] != f"INSERT INTO {quote.format_table(table)} ({columns})" or not _GROUP.fullmatch(group):
            return None
        stage = quote.quote(f"bulk_{table.name}")
        return cls(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS "
            f"SELECT {columns}, 0::bigint AS bulk_n FROM {quote.format_table(table)} WITH NO DATA",
            f"COPY {stage} ({columns}, bulk_n) FROM STDIN",
            f"{sql[:start]} SELECT {columns} FROM {stage} ORDER BY bulk_n{tail}",
            f"DELETE FROM {stage}",
        )

    def execute(self, conn: Connection, chunks: list[list[tuple[Any, ...]]]) -> None:
        raw: Any = conn.connection.dbapi_connection
        with raw.cursor() as cursor:
            cursor.execute(self.create)
            for chunk in chunks:
                with cursor.copy(self.copy) as copy:
                    for n, row in enumerate(chunk):
                        copy.write_row((*row, n))
                cursor.execute(self.insert)
                cursor.execute(self.clear)


_MAX_STAGED_CHUNKS = 4
_STAGING: dict[str, bool] = {}  # database URL -> whether its user may create temporary tables


def _may_stage(conn: Connection) -> bool:
    """Whether the session may create temporary tables (granted to PUBLIC by default, but it can be revoked):
    asked once per database; without it, bulk writes keep the executemany."""
    url = conn.engine.url.render_as_string(hide_password=True)
    allowed = _STAGING.get(url)
    if allowed is None:
        allowed = _STAGING[url] = bool(
            conn.exec_driver_sql("SELECT has_database_privilege(current_database(), 'TEMPORARY')").scalar()
        )
    return allowed


_PARAM = re.compile(r"%\((\w+)\)s")
_GROUP = re.compile(r"\((?:%\(\w+\)s(?:::[A-Z][A-Z ]*(?:\(\d+(?:, ?\d+)?\))?)?(?:, (?=%))?)+\)")


def _chunks(values: list[tuple[Any, ...]], most: int, unique: Sequence[int] | None) -> Iterator[list[tuple[Any, ...]]]:
    """Consecutive runs of at most `most` rows; with `unique` (the key's positions), none repeating a key."""
    if unique is None:
        for start in range(0, len(values), most):
            yield values[start : start + most]
        return
    key = itemgetter(*unique)
    seen: set[Any] = set()
    start = 0
    for i, row in enumerate(values):
        k = key(row)
        if k in seen or i - start == most:
            yield values[start:i]
            seen.clear()
            start = i
        seen.add(k)
    yield values[start:]


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
        insert_ignore_values(conn, table, *_tuples(rows))


def upsert_all(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows, or update every non-key column of a row whose primary key exists: one executemany.

    Rows are applied in order, so a key given twice ends with its last values, as separate updates would.
    Every row must carry the same columns.
    """
    if rows:
        upsert_values(conn, table, *_tuples(rows))


def insert_ignore_values(conn: Connection, table: Table, columns: Sequence[str], values: list[tuple[Any, ...]]) -> None:
    """`insert_ignore_all` of rows given as tuples of `columns`' values, for writers that build rows in bulk."""
    if values:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        _executemany_values(conn, table, insert(table).on_conflict_do_nothing(), columns, values)


def upsert_values(conn: Connection, table: Table, columns: Sequence[str], values: list[tuple[Any, ...]]) -> None:
    """`upsert_all` of rows given as tuples of `columns`' values, for writers that build rows in bulk."""
    if not values:
        return
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    keys = [c.name for c in table.primary_key.columns]
    statement = insert(table)
    changed = {name: statement.excluded[name] for name in columns if name not in keys}
    statement = statement.on_conflict_do_update(index_elements=keys, set_=changed)
    _executemany_values(conn, table, statement, columns, values, keys)
