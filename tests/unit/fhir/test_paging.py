"""Keyset paging: nothing lost or duplicated across pages, even when entries arrive between pages."""

from __future__ import annotations

import random

import pytest

from hub.fhir.paging import CursorError, Query, SortKey, clamp_count, decode_cursor, encode_cursor, page


def _key(i: int) -> SortKey:
    return (3, f"2026-09-{1 + i % 28:02d}T09:00:00.000000", f"e{i:04d}")


def test_pages_cover_everything_once() -> None:
    items = [(_key(i), i) for i in range(103)]
    random.Random(1).shuffle(items)
    seen: list[int] = []
    after = None
    while True:
        chunk, more = page(items, after, 10)
        seen += [v for _, v in chunk]
        assert len(chunk) == 10 or not more
        if not more:
            break
        after = chunk[-1][0]
    assert sorted(seen) == list(range(103)) and len(seen) == len(set(seen))


def test_entries_arriving_mid_paging_are_neither_lost_nor_duplicated() -> None:
    items = [(_key(i), i) for i in range(0, 60, 2)]
    seen: list[int] = []
    chunk, more = page(items, None, 7)
    seen += [v for _, v in chunk]
    # New entries arrive, some before the cursor (older occurred_at) and some after it.
    items += [(_key(i), i) for i in range(1, 60, 2)]
    after = chunk[-1][0]
    while more:
        chunk, more = page(items, after, 7)
        seen += [v for _, v in chunk]
        after = chunk[-1][0] if chunk else after
    assert len(seen) == len(set(seen))
    assert set(range(0, 60, 2)) <= set(seen)  # everything that existed when paging started


def test_last_page_has_no_next_and_empty_input_gives_one_empty_page() -> None:
    assert page([], None, 5) == ([], False)
    items = [(_key(i), i) for i in range(5)]
    chunk, more = page(items, None, 5)
    assert len(chunk) == 5 and more is False


def test_cursor_round_trip_and_binding() -> None:
    query = Query("child-1", ("Observation",), "2026-09-01T00:00:00Z", 20)
    cursor = encode_cursor(query, _key(3))
    assert decode_cursor(cursor, "child-1") == (query, _key(3))
    with pytest.raises(CursorError):
        decode_cursor(cursor, "child-2")
    with pytest.raises(CursorError):
        decode_cursor("not a cursor!", "child-1")


def test_count_is_clamped() -> None:
    assert clamp_count(None) == 50 and clamp_count(10_000) == 500
    with pytest.raises(CursorError):
        clamp_count(0)
