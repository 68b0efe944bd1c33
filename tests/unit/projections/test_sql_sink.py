"""sql_sink's bulk helpers: execute_many stores what conn.execute stores; collection_paused restores the gc."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, create_engine, select, update

from hub.db.projection_tables import team_members
from projections.sql_sink import collection_paused, execute_many


def _member(n: int) -> dict[str, object]:
    return {
        "member_id": f"m{n}",
        "child_id": "child-1",
        "organisation": f"ORG{n}",
        "organisation_type": None,
        "role": None,
        "worker": None,
        "contact": None,
        "since": datetime(2026, 1, 1, tzinfo=UTC),
        "until": None,
        "evidence": {},
    }


def test_execute_many_stores_what_conn_execute_stores() -> None:
    statement = (
        update(team_members)
        .where(team_members.c.member_id == bindparam("_key"))
        .values(until=bindparam("until"), evidence=bindparam("evidence"), worker=bindparam("worker"))
    )
    changes = [
        {"_key": f"m{n}", "until": datetime(2026, 2, n + 1, tzinfo=UTC) + timedelta(microseconds=n), "worker": None}
        | {"evidence": {"joined": ["2026-01-01T00:00:00+00:00", f"e{n}"], "n": [n, n / 3]}}
        for n in range(5)
    ]
    stored = []
    for run in ("sqlalchemy", "execute_many"):
        engine = create_engine("sqlite://")
        team_members.metadata.create_all(engine, tables=[team_members])
        with engine.begin() as conn:
            conn.execute(team_members.insert(), [_member(n) for n in range(6)])
            if run == "sqlalchemy":
                conn.execute(statement, changes)
            else:
                execute_many(conn, statement, changes)
            raw = conn.exec_driver_sql("SELECT * FROM team_members ORDER BY member_id").all()
            typed = conn.execute(select(team_members).order_by(team_members.c.member_id)).all()
        stored.append((raw, typed))
    assert stored[0] == stored[1]


def test_collection_paused_restores_the_collector_state() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collection_paused():
        assert not gc.isenabled()
        raise RuntimeError("a failing batch")
    assert gc.isenabled()
    gc.disable()
    try:
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "a collector someone else disabled stays disabled"
    finally:
        gc.enable()
