"""Cursor paging for `$everything` and searches: keyset on a total order, never offsets.

Each served resource has a sort key (group, time, id). A page is the first `count` resources whose key is
greater than the cursor's key, so a resource is never served twice and none that existed when paging started
is skipped, even when entries arrive or are hidden between pages. Only visible resources are ever keyed, so
hidden entries change neither page sizes nor links. The cursor is opaque to clients (base64url JSON) and is
bound to the patient and the filters it was issued for; every filter and decision is applied again per page.
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

SortKey = tuple[int, str, str]
DEFAULT_COUNT = 50
MAX_COUNT = 500


class CursorError(ValueError):
    """The cursor is malformed or was issued for another patient or other filters."""


@dataclass(frozen=True)
class Query:
    patient: str
    types: tuple[str, ...] | None  # None: every type the token allows
    since: str | None  # ISO-8601 as given
    count: int


def time_key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def encode_cursor(query: Query, after: SortKey) -> str:
    raw = json.dumps(
        {"p": query.patient, "t": query.types, "s": query.since, "n": query.count, "k": list(after)},
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, patient: str) -> tuple[Query, SortKey]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key = data["k"]
        after: SortKey = (int(key[0]), str(key[1]), str(key[2]))
        types = tuple(str(t) for t in data["t"]) if data["t"] is not None else None
        query = Query(str(data["p"]), types, data["s"], int(data["n"]))
    except (binascii.Error, ValueError, KeyError, TypeError, IndexError) as exc:
        raise CursorError("the paging cursor is not valid") from exc
    if query.patient != patient:
        raise CursorError("the paging cursor belongs to another request")
    return query, after


def clamp_count(count: int | None) -> int:
    if count is None:
        return DEFAULT_COUNT
    if count < 1:
        raise CursorError("_count must be at least 1")
    return min(count, MAX_COUNT)


def page(items: list[tuple[SortKey, Any]], after: SortKey | None, count: int) -> tuple[list[tuple[SortKey, Any]], bool]:
    """The next `count` items after `after` in key order, and whether more follow."""
    ordered = sorted(items, key=itemgetter(0))
    start = 0 if after is None else bisect_right(ordered, after, key=itemgetter(0))
    rest = ordered[start : start + count + 1]
    return rest[:count], len(rest) > count
