"""insert_ignore counts what it inserted on both backends (PostgreSQL's rowcount is -1 for ON CONFLICT)."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine

from hub.db.upsert import insert_ignore

pytestmark = pytest.mark.integration
things = Table("insert_ignore_probe", MetaData(), Column("id", Integer, primary_key=True), Column("v", String(10)))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_duplicates_are_skipped_and_counted(backend: str, sqlite_url: str, pg_url: str) -> None:
    engine = create_engine(sqlite_url if backend == "sqlite" else pg_url)
    things.create(engine)
    with engine.begin() as conn:
        assert insert_ignore(conn, things, [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]) == 2
        assert insert_ignore(conn, things, [{"id": 2, "v": "x"}, {"id": 3, "v": "c"}]) == 1
        assert insert_ignore(conn, things, []) == 0
        assert sorted(conn.execute(things.select()).all()) == [(1, "a"), (2, "b"), (3, "c")]
    engine.dispose()
