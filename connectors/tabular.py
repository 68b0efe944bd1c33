"""Rows from CSV exports and JSON arrays, with spreadsheet row numbers and per-row bytes. Pure.

Row-oriented sources (school MIS exports, SSDA903 returns, case-management JSON) share one shape: each row
maps to events independently, and a bad row is reported by row number and column, and kept on its own.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from connectors.batch import Batch, Issue, OrganisationMismatch
from connectors.canonical import EventSpec, Source, build_event
from connectors.errors import ConnectorError, MappingError, ParseError

LONDON = ZoneInfo("Europe/London")


class RowError(MappingError):
    """One row cannot be used; `location` names the row and column (e.g. "row 4, column UPN")."""


def norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@dataclass(frozen=True)
class Row:
    """One source row with case- and punctuation-insensitive column lookup."""

    where: str  # "row 4" or "attendance[3]"
    values: dict[str, str]  # normalised column name -> text
    columns: dict[str, str]  # normalised -> column name as the source spelled it
    raw: bytes
    content_type: str

    def get(self, *names: str) -> str | None:
        for name in names:
            v = self.values.get(norm(name))
            if v is not None and str(v).strip() != "":
                return str(v).strip()
        return None

    def need(self, *names: str) -> str:
        v = self.get(*names)
        if v is None:
            raise RowError("required value is missing", self.at(names[0]))
        return v

    def at(self, column: str) -> str:
        """Where a column sits, spelt as the source spelt it; a field a JSON record lacks is named in snake_case."""
        if self.where.startswith("row"):
            return f"{self.where}, column {self.columns.get(norm(column), column)}"
        return f"{self.where}.{self.columns.get(norm(column)) or _snake(column)}"

    def strings(self, *names: str) -> list[str]:
        """A list: a JSON array of strings, or text separated by semicolons (or commas), blanks dropped."""
        text = self.get(*names)
        if text is None:
            return []
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                value = None
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise RowError("must be a list of text values", self.at(self._present(names)))
            items = value
        else:
            items = re.split(r"[;,]", text)
        return list(dict.fromkeys(i.strip() for i in items if i.strip()))

    def moment(self, *names: str, required: bool = False) -> datetime | None:
        """A date (the start of that English day) or an ISO 8601 date and time with its offset."""
        text = self.need(*names) if required else self.get(*names)
        if text is None:
            return None
        if len(text) > 10:
            try:
                when = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                when = None
            if when is not None:
                if when.tzinfo is None:
                    raise RowError("a date and time needs its UTC offset (e.g. +00:00)", self.at(self._present(names)))
                return when.astimezone(UTC)
        d = self.date(*names)
        assert d is not None
        return day_start(d)

    def _present(self, names: tuple[str, ...]) -> str:
        return next((n for n in names if self.values.get(norm(n), "").strip()), names[0])

    def date(self, *names: str, required: bool = False) -> date | None:
        text = self.need(*names) if required else self.get(*names)
        if text is None:
            return None
        for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%Y%m%d"):
            try:
                return datetime.strptime(text[:10], fmt).date()
            except ValueError:
                continue
        raise RowError("not a date (expected dd/mm/yyyy or yyyy-mm-dd)", self.at(self._present(names)))

    def integer(self, *names: str) -> int | None:
        text = self.get(*names)
        if text is None:
            return None
        try:
            return int(text)
        except ValueError as exc:
            raise RowError("not a whole number", self.at(names[0])) from exc


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def day_start(d: date) -> datetime:
    """A date-only source fact happened at the start of that English day."""
    return datetime(d.year, d.month, d.day, tzinfo=LONDON).astimezone(UTC)


def decode_text(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


def csv_rows(body: bytes, content_type: str) -> Iterator[Row]:
    text = decode_text(body)
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise ParseError("the CSV file is empty", "row 1") from None
    except csv.Error as exc:
        raise ParseError(f"unreadable CSV header ({exc})", "row 1") from exc
    if not any(h.strip() for h in header):
        raise ParseError("the CSV header row is empty", "row 1")
    columns = {norm(h): h.strip() for h in header}
    number = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ParseError(f"unreadable CSV after row {number} ({exc})", f"row {number + 1}") from exc
        number += 1
        if not any(c.strip() for c in cells):
            continue
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows([header, cells])
        values = {norm(h): c for h, c in zip(header, cells, strict=False)}
        if len(cells) > len(header):
            values["__extra__"] = "yes"
        yield Row(f"row {number}", values, columns, out.getvalue().encode(), content_type)


def json_rows(records: Any, prefix: str, envelope: dict[str, Any], content_type: str) -> Iterator[Row]:
    if not isinstance(records, list):
        raise ParseError("expected an array of records", prefix)
    for i, rec in enumerate(records):
        where = f"{prefix}[{i}]"
        if not isinstance(rec, dict):
            yield Row(where, {"__invalid__": "not an object"}, {}, json.dumps(rec).encode(), content_type)
            continue
        flat = {
            norm(k): v
            if isinstance(v, str)
            else json.dumps(v)
            if isinstance(v, dict | list)
            else ("" if v is None else str(v))
            for k, v in rec.items()
        }
        raw = json.dumps({**envelope, prefix: [rec]}, sort_keys=True).encode()
        yield Row(where, flat, {norm(k): k for k in rec}, raw, content_type)


def load_json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(decode_text(body))
    except json.JSONDecodeError as exc:
        raise ParseError(f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})", "$") from exc
    if not isinstance(data, dict):
        raise ParseError("the body must be a JSON object", "$")
    return data


RowMapper = Callable[[Row], list[EventSpec]]


def map_rows(rows: Iterator[Row], mapper: RowMapper, source: Source) -> Batch:
    """Good rows become events; a bad row becomes an error Issue carrying its own bytes (for dead letter)."""
    batch = Batch()
    for row in rows:
        try:
            if "__invalid__" in row.values:
                raise RowError("the record is not a JSON object", row.where)
            for index, spec in enumerate(mapper(row)):
                batch.events.append(build_event(source, spec, row.raw, index))
        except OrganisationMismatch:
            raise  # the whole input is refused, not one row
        except ConnectorError as exc:
            batch.issues.append(
                Issue(exc.location or row.where, exc.reason, "error", exc.phase, row.raw, row.content_type)
            )
    return batch
