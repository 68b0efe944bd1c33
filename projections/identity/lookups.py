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

    def insert_child(self, child_id: str, now: datetime) -> None:
        self._write("INSERT INTO children (child_id, created_at) VALUES (?, ?)", [(child_id, self._time(now))])

    def insert_record(
        self, row: dict[str, Any], blocks: Sequence[str], identifiers: Sequence[tuple[str, str]], now: datetime
    ) -> None:
        """The record, its block keys and its identifiers (those another child already holds stay there)."""
        j = self.json_mark
        seen = self._time(now)
        self._write(
            "INSERT INTO identity_records (record_key, child_id, source_org, identifiers, invalid_identifiers, "
            "given_name, family_name, birth_date, sex, postcode, first_seen) "
            f"VALUES (?, ?, ?, {j}, {j}, ?, ?, ?, ?, ?, ?)",
            [
                (
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
            ],
        )
        if blocks:
            self._write(
                "INSERT INTO identity_blocks (block_key, record_key) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(b, row["record_key"]) for b in blocks],
            )
        if identifiers:
            self._write(
                "INSERT INTO child_identifiers (system, value, child_id, linked_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [(s, v, row["child_id"], seen) for s, v in identifiers],
            )

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
        self, record_key: str, keys: Sequence[tuple[str, str]]
    ) -> tuple[str | None, dict[tuple[str, str], str]]:
        """The child of a source record seen before, else who holds each identifier: one round trip, as both
        are asked for every new record."""
        sql = "SELECT '', '', child_id FROM identity_records WHERE record_key = ?"
        if keys:
            where = " OR ".join("(system = ? AND value = ?)" for _ in keys)
            sql += f" UNION ALL SELECT system, value, child_id FROM child_identifiers WHERE {where}"
        rows = self._rows(sql, [record_key, *(part for key in keys for part in key)])
        known = next((str(r[2]) for r in rows if not r[0]), None)
        return known, {(r[0], r[1]): r[2] for r in rows if r[0]}

    def candidates(
        self, block_keys: Sequence[str], limit: int
    ) -> list[tuple[str, str, str, str, date | None, str, str]]:
        """(record_key, child_id, given, family, birth date, sex, postcode) of every record in a small block."""
        if not block_keys:
            return []
        rows = self._rows(
            "SELECT b.block_key, r.record_key, r.child_id, r.given_name, r.family_name, r.birth_date, r.sex, "
            "r.postcode FROM identity_blocks b JOIN identity_records r ON r.record_key = b.record_key "
            f"WHERE b.block_key IN ({self._marks(len(block_keys))})",
            block_keys,
        )
        sizes: dict[str, int] = {}
        for r in rows:
            sizes[r[0]] = sizes.get(r[0], 0) + 1
        out: dict[str, tuple[str, str, str, str, date | None, str, str]] = {}
        for r in rows:
            if sizes[r[0]] <= limit and r[1] not in out:
                out[r[1]] = (r[1], r[2], r[3], r[4], _day(r[5]), r[6], r[7])
        return list(out.values())

    def birth_dates(self, child_id: str) -> list[date | None]:
        rows = self._rows("SELECT birth_date FROM identity_records WHERE child_id = ?", [child_id])
        return [_day(r[0]) for r in rows]

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
