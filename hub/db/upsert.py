"""Portable "insert, ignoring rows that already exist" for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, column, select
from sqlalchemy import table as table_clause
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
        copied = _CopyInsert.of(table, dialect, statement, sql, names)
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
    def of(cls, table: Table, dialect: Any, statement: Any, sql: str, names: list[str]) -> _CopyInsert | None:
        """Cached by the executemany's own SQL (`sql`), which says which statement and columns this is."""
        key = (table.fullname, sql, tuple(names))
        if key not in cls._cache:
            cls._cache[key] = cls._build(table, dialect, statement, names)
        return cls._cache[key]

    @classmethod
    def _build(cls, table: Table, dialect: Any, statement: Any, names: list[str]) -> _CopyInsert | None:
        """The statements for `statement`'s rows of `names` through a COPY, or None where the staged rows would
        not carry every value: a column outside `names` that SQLAlchemy fills in (a default), a value it binds
        (a Python-side onupdate), or a column called like the position.

        The INSERT is SQLAlchemy's own statement (so its ON CONFLICT clause) over a SELECT of the staged rows.
        """
        if "bulk_n" in names or any(c.default is not None for c in table.c if c.key not in names):
            return None
        stage = table_clause(f"bulk_{table.name}", *(column(name) for name in names), column("bulk_n"))
        staged = select(*(stage.c[name] for name in names)).order_by(stage.c.bulk_n)
        insert = statement.from_select(names, staged, include_defaults=False).compile(dialect=dialect)
        if insert.binds or "%" in str(insert):  # run without parameters: a doubled %% would stay doubled
            return None
        quote = dialect.identifier_preparer
        columns = ", ".join(quote.quote(name) for name in names)
        staging = quote.format_table(stage)
        return cls(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ON COMMIT DROP AS "
            f"SELECT {columns}, 0::bigint AS bulk_n FROM {quote.format_table(table)} WITH NO DATA",
            f"COPY {staging} ({columns}, bulk_n) FROM STDIN",
            str(insert),
            f"DELETE FROM {staging}",
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
