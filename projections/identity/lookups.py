"""The registry's hot-path reads and writes as plain SQL through the driver.

Building and caching SQLAlchemy statements cost several times the query itself here (measured with
cProfile: statement coercion and cache keys dominated), and these reads and writes run for every new record,
so they go to a DBAPI cursor on the caller's connection and transaction. The
SQL is portable (SQLite and PostgreSQL); the parameter marker differs, and values are stored exactly as the
SQLAlchemy column types store them (SQLite: ISO text dates, `YYYY-MM-DD HH:MM:SS.ffffff` times, JSON text).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection

from connectors.identifiers import NHS_NUMBER_SYSTEM, UPN_SYSTEM

NATIONAL = (NHS_NUMBER_SYSTEM, UPN_SYSTEM)
_CHUNK = 500  # keep IN lists within every backend's parameter limit


def _day(value: Any) -> date | None:
    """SQLite hands dates back as ISO text through the driver; PostgreSQL as dates."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _values_rows(sql: str, rows: list[tuple[Any, ...]]) -> tuple[str, tuple[Any, ...]]:
    """`INSERT ... VALUES (row)` over many rows as ONE statement with a VALUES row each, for PostgreSQL.

    psycopg runs an executemany as a pipeline, entering and leaving it around even a single row; that was
    most of the client CPU of a new record's writes (cProfile, 2026-12-05). Rows go in the order given, and
    with ON CONFLICT DO NOTHING a row repeating an earlier one's key is skipped, as it is by executemany."""
    start = sql.index(" VALUES (") + len(" VALUES ")
    depth = 0
    for end in range(start, len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[end], 0)
        if depth == 0:
            break
    group = sql[start : end + 1]
    return (
        sql[:start] + ", ".join([group] * len(rows)) + sql[end + 1 :],
        tuple(value for row in rows for value in row),
    )


_SNAPSHOT = "identity_batch_snapshot"


@dataclass
class BatchSnapshot:
    """What `record_or_identifiers` would read for a batch's new source records, fetched for all at once.

    An intake batch's new records (first sightings) each asked the database which child holds their record
    key, identifiers and NHS number: a round trip each, ~40 us of client CPU on PostgreSQL. The batch asks
    once, then keeps the answers current with the registry's own inserts (a record, its identifiers, a new
    child). It answers only what it covers: keys fetched at the start, and birth dates of children whose
    records it has all; anything else, and everything after a merge or unmerge (they move records and
    identifiers: merging.py drops the snapshot), is read from the database as before. Valid only inside the
    transaction that made it, which holds the registry lock (no other identity writer meanwhile).
    """

    transaction: Any
    records: dict[str, str]  # record key -> child, for every covered key that has a record
    record_keys: set[str]  # covered record keys
    holders: dict[tuple[str, str], str]  # identifier -> child, for every covered identifier that is held
    identifiers: set[tuple[str, str]]  # covered identifiers
    birth_dates: dict[str, list[date | None]]  # child -> birth dates of all its records

    def answer(
        self, record_key: str, keys: Sequence[tuple[str, str]], nhs_number: str | None
    ) -> tuple[str | None, dict[tuple[str, str], str], list[date | None]] | None:
        if record_key not in self.record_keys or not self.identifiers.issuperset(keys):
            return None
        dates: list[date | None] = []
        if nhs_number is not None:
            holder = self.holders.get((NHS_NUMBER_SYSTEM, nhs_number))
            if holder is not None:
                if holder not in self.birth_dates:
                    return None
                dates = list(self.birth_dates[holder])
        found = {k: self.holders[k] for k in keys if k in self.holders}
        return self.records.get(record_key), found, dates

    def inserted_record(self, row: dict[str, Any], identifiers: Sequence[tuple[str, str]]) -> None:
        child = row["child_id"]
        if row["record_key"] in self.record_keys:
            self.records[row["record_key"]] = child
        for key in identifiers:  # ON CONFLICT DO NOTHING: an identifier already held stays with its child
            if key in self.identifiers and key not in self.holders:
                self.holders[key] = child
        if child in self.birth_dates:
            self.birth_dates[child].append(row["birth_date"])


def drop_snapshot(conn: Connection) -> None:
    """Forget the batch snapshot: records or identifiers moved (merge, unmerge) or the batch is done."""
    conn.info.pop(_SNAPSHOT, None)


class Lookups:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.marker = "?" if self.sqlite else "%s"
        self.json_mark = "?" if self.sqlite else "CAST(? AS JSON)"

    def _time(self, value: datetime) -> Any:
        if not self.sqlite:
            return value
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")

    def _date(self, value: date | None) -> Any:
        return value.isoformat() if (self.sqlite and value is not None) else value

    def _cursor(self) -> Any:
        """A DBAPI cursor on the connection's own transaction (begun here as SQLAlchemy's autobegin would).

        Even ``exec_driver_sql`` spent about a fifth of the registry's time in SQLAlchemy's execution context
        (cProfile, 2026-12-01); these statements need none of it."""
        if not self.conn.in_transaction():
            self.conn.begin()
        return self.conn.connection.cursor()

    def _write(self, sql: str, params: Sequence[Any] | list[tuple[Any, ...]]) -> None:
        if isinstance(params, list) and not self.sqlite:
            sql, params = _values_rows(sql, params)
        if self.marker != "?":
            sql = sql.replace("?", self.marker)
        cursor = self._cursor()
        try:
            if isinstance(params, list):
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, tuple(params))
        finally:
            cursor.close()

    def _snapshot(self) -> BatchSnapshot | None:
        snapshot: BatchSnapshot | None = self.conn.info.get(_SNAPSHOT)
        if snapshot is not None and snapshot.transaction is not self.conn.get_transaction():
            drop_snapshot(self.conn)
            return None
        return snapshot

    def snapshot_batch(
        self, known: dict[str, str], record_keys: Iterable[str], identifiers: Iterable[tuple[str, str]]
    ) -> None:
        """Fetch, for a batch's new records, who holds their identifiers and the birth dates of the children
        holding their NHS numbers (`known`: the batch's record key -> child lookup, which covers
        `record_keys`). A few queries for the batch instead of one per record; see BatchSnapshot."""
        keys = sorted(set(identifiers))
        holders: dict[tuple[str, str], str] = {}
        step = _CHUNK // 2
        for i in range(0, len(keys), step):
            chunk = keys[i : i + step]
            where = " OR ".join("(system = ? AND value = ?)" for _ in chunk)
            sql = f"SELECT system, value, child_id FROM child_identifiers WHERE {where}"
            holders.update(((r[0], r[1]), r[2]) for r in self._rows(sql, [p for k in chunk for p in k]))
        children = sorted({child for (system, _), child in holders.items() if system == NHS_NUMBER_SYSTEM})
        dates: dict[str, list[date | None]] = {child: [] for child in children}
        for i in range(0, len(children), _CHUNK):
            ids = children[i : i + _CHUNK]
            sql = f"SELECT child_id, birth_date FROM identity_records WHERE child_id IN ({self._marks(len(ids))})"
            for child, born in self._rows(sql, ids):
                dates[child].append(_day(born))
        covered = set(record_keys)
        self.conn.info[_SNAPSHOT] = BatchSnapshot(
            transaction=self.conn.get_transaction(),
            records={k: known[k] for k in covered if k in known},
            record_keys=covered,
            holders=holders,
            identifiers=set(keys),
            birth_dates=dates,
        )

    def insert_record(
        self,
        row: dict[str, Any],
        blocks: Sequence[str],
        identifiers: Sequence[tuple[str, str]],
        now: datetime,
        new_child: bool = False,
    ) -> None:
        """The record, its block keys and its identifiers (those another child already holds stay there);
        with `new_child`, first the row of its child, created for it."""
        j = self.json_mark
        seen = self._time(now)
        records = (
            "INSERT INTO identity_records (record_key, child_id, source_org, identifiers, invalid_identifiers, "
            "given_name, family_name, birth_date, sex, postcode, first_seen) "
            f"VALUES (?, ?, ?, {j}, {j}, ?, ?, ?, ?, ?, ?)"
        )
        record = (
            row["record_key"],
            row["child_id"],
            row["source_org"],
            json.dumps(row["identifiers"]),
            json.dumps(row["invalid_identifiers"]),
            row["given_name"],
            row["family_name"],
            self._date(row["birth_date"]),
            row["sex"],
            row["postcode"],
            seen,
        )
        writes: list[tuple[str, list[tuple[Any, ...]]]] = [(records, [record])]
        if new_child:
            writes.insert(0, ("INSERT INTO children (child_id, created_at) VALUES (?, ?)", [(row["child_id"], seen)]))
        if blocks:
            writes.append(
                (
                    "INSERT INTO identity_blocks (block_key, record_key) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    [(b, row["record_key"]) for b in blocks],
                )
            )
        if identifiers:
            writes.append(
                (
                    "INSERT INTO child_identifiers (system, value, child_id, linked_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    [(s, v, row["child_id"], seen) for s, v in identifiers],
                )
            )
        self._write_together(writes)
        snapshot = self._snapshot()
        if snapshot is not None:
            if new_child:
                snapshot.birth_dates[row["child_id"]] = []  # a new child: all its records are inserted from here
            snapshot.inserted_record(row, identifiers)

    def _write_together(self, writes: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        """Several INSERTs in order; on PostgreSQL as one statement (all but the last in WITH clauses), saving
        a round trip each: a new record's writes were most of its client CPU there (cProfile, 2026-12-05).
        The tables have no triggers or foreign keys between them, so one statement changes nothing they do."""
        if self.sqlite or len(writes) == 1:
            for sql, rows in writes:
                self._write(sql, rows)
            return
        parts = [_values_rows(sql, rows) for sql, rows in writes]
        sql = "WITH " + ", ".join(f"w{i} AS ({part})" for i, (part, _) in enumerate(parts[:-1])) + " " + parts[-1][0]
        self._write(sql, tuple(value for _, values in parts for value in values))

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        if self.marker != "?":
            sql = sql.replace("?", self.marker)
        cursor = self._cursor()
        try:
            cursor.execute(sql, tuple(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _marks(self, n: int) -> str:
        return ", ".join("?" * n)

    def children_of_records(self, record_keys: Iterable[str]) -> dict[str, str]:
        """The child of each source record already seen: asked once per intake batch, in chunks that keep the
        IN lists within every backend's parameter limit."""
        ordered = sorted(record_keys)
        found: dict[str, str] = {}
        for i in range(0, len(ordered), _CHUNK):
            chunk = ordered[i : i + _CHUNK]
            sql = f"SELECT record_key, child_id FROM identity_records WHERE record_key IN ({self._marks(len(chunk))})"
            found.update(self._rows(sql, chunk))
        return found

    def insert_event_links(self, links: list[tuple[str, str]]) -> None:
        """(event id, record key) per event, in order; an event id already linked keeps its first link."""
        if links:
            self._write(
                "INSERT INTO identity_event_links (event_id, record_key) VALUES (?, ?) ON CONFLICT DO NOTHING", links
            )

    def current_child(self, child_id: str) -> str:
        """Follow active merges from a retired child to the child that now holds its records (see
        merging.current_child, which asks this for every event that takes the registry's full path)."""
        seen = {child_id}
        while True:
            rows = self._rows(
                "SELECT surviving_child_id FROM identity_merges WHERE retired_child_id = ? AND status = 'active'",
                [child_id],
            )
            survivor = rows[0][0] if rows else None
            if survivor is None or survivor in seen:
                return child_id
            seen.add(survivor)
            child_id = survivor

    def record_or_identifiers(
        self, record_key: str, keys: Sequence[tuple[str, str]], nhs_number: str | None = None
    ) -> tuple[str | None, dict[tuple[str, str], str], list[date | None]]:
        """The child of a source record seen before, else who holds each identifier, and the birth dates of
        the records of the child holding `nhs_number` (for the same-number-other-birth-date check): one round
        trip, as all three are asked for most new records and a round trip is the dearest part of a read.
        Answered from the batch's snapshot when it covers them (`snapshot_batch`)."""
        snapshot = self._snapshot()
        if snapshot is not None:
            answer = snapshot.answer(record_key, keys, nhs_number)
            if answer is not None:
                return answer
        no_date = "CAST(NULL AS DATE)"  # PostgreSQL types each UNION column from the branches in turn
        sql = f"SELECT 'r', '', '', child_id, {no_date} FROM identity_records WHERE record_key = ?"
        params = [record_key]
        if keys:
            where = " OR ".join("(system = ? AND value = ?)" for _ in keys)
            sql += f" UNION ALL SELECT 'i', system, value, child_id, {no_date} FROM child_identifiers WHERE {where}"
            params.extend(part for key in keys for part in key)
        if nhs_number is not None:
            sql += (
                " UNION ALL SELECT 'd', '', '', child_id, birth_date FROM identity_records WHERE child_id IN "
                "(SELECT child_id FROM child_identifiers WHERE system = ? AND value = ?)"
            )
            params.extend((NHS_NUMBER_SYSTEM, nhs_number))
        rows = self._rows(sql, params)
        known = next((str(r[3]) for r in rows if r[0] == "r"), None)
        found = {(r[1], r[2]): r[3] for r in rows if r[0] == "i"}
        return known, found, [_day(r[4]) for r in rows if r[0] == "d"]

    def candidates(
        self, block_keys: Sequence[str], limit: int
    ) -> list[tuple[str, str, str, str, date | None, str, str]]:
        """(record_key, child_id, given, family, birth date, sex, postcode) of every record in a small block.

        A block over `limit` is skipped inside the query, counting at most limit + 1 of its keys: fetching the
        whole block to drop it here made a common surname and year cost as many rows as the block held, for
        every new record (a stream of 5,000 same-name admissions took minutes to resolve)."""
        if not block_keys:
            return []
        rows = self._rows(
            f"WITH asked(k) AS (VALUES {', '.join('(?)' for _ in block_keys)}), "
            "small(k) AS (SELECT k FROM asked WHERE "
            "(SELECT COUNT(*) FROM (SELECT 1 FROM identity_blocks c WHERE c.block_key = asked.k LIMIT ?) n) <= ?) "
            "SELECT r.record_key, r.child_id, r.given_name, r.family_name, r.birth_date, r.sex, r.postcode "
            "FROM identity_blocks b JOIN identity_records r ON r.record_key = b.record_key "
            "WHERE b.block_key IN (SELECT k FROM small) ORDER BY r.record_key",
            [*block_keys, limit + 1, limit],
        )
        out: dict[str, tuple[str, str, str, str, date | None, str, str]] = {}
        for r in rows:
            if r[0] not in out:
                out[r[0]] = (r[0], r[1], r[2], r[3], _day(r[4]), r[5], r[6])
        return list(out.values())

    def national_identifiers(self, child_ids: Iterable[str]) -> dict[str, set[tuple[str, str]]]:
        """NHS numbers and UPNs each child holds."""
        ids = sorted(set(child_ids))
        if not ids:
            return {}
        # Filter the system in Python: with it in SQL, SQLite prefers the (system, value) key and scans every
        # NHS number instead of using the child_id index (quadratic over a whole region).
        rows = self._rows(
            f"SELECT child_id, system, value FROM child_identifiers WHERE child_id IN ({self._marks(len(ids))})", ids
        )
        found: dict[str, set[tuple[str, str]]] = {}
        for child_id, system, value in rows:
            if system in NATIONAL:
                found.setdefault(child_id, set()).add((system, value))
        return found
