"""A rebuild split over child-id ranges, one process each (PostgreSQL): the same projections as one process,
resumable range by range after an interruption, and refused on SQLite (one writer)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine, select

from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.db.projection_tables import rebuild_state
from hub.disclosure.rules import bundled_rules
from hub.events.codec import EventCodec
from hub.policy_files import load_policy
from projections.child_projector import project_batch
from projections.rebuild import content_digest, rebuild
from projections.sql_sink import Consumed
from tests.support.story import story, withdraw_school

pytestmark = pytest.mark.integration
TOPIC = "onestory.events.v1"
CODEC = EventCodec.load()
POLICY = load_policy()
RULES = bundled_rules()
CHILDREN = [str(uuid.UUID(int=100 + i)) for i in range(7)]


def _project_region(engine: Engine) -> int:
    # consent ids are global: only the first child records the story's consent (as the projection tests do)
    events = story(CHILDREN[0]) + [e for child in CHILDREN[1:] for e in story(child)[1:]]
    events.append(withdraw_school(CHILDREN[0]))
    records = [Consumed(TOPIC, 0, i, CODEC.encode(e), CODEC.decode(CODEC.encode(e))) for i, e in enumerate(events)]
    project_batch(engine, POLICY, RULES, "projector.timeline", {TOPIC: "topic-1"}, records)
    return len(events)


def test_three_processes_rebuild_what_the_live_projector_built_and_resume_by_range(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    events = _project_region(engine)
    with engine.connect() as conn:
        live = content_digest(conn)

    seen: list[int] = []
    partial = rebuild(
        engine,
        CODEC,
        POLICY,
        RULES,
        chunk=1,
        processes=3,
        stop_after_chunks=1,
        on_progress=lambda p: seen.append(p.children_done),
    )
    assert partial.children_done == 3, "each of the three ranges did one child before the interruption"
    with engine.connect() as conn:
        ranges = conn.execute(select(rebuild_state.c.name, rebuild_state.c.until_child_id)).all()
        assert content_digest(conn) == live, "the live tables are untouched until the switch"
    assert sorted(n for n, _ in ranges) == ["projections", "range:0", "range:1", "range:2"]
    assert [u for n, u in sorted(ranges)][-1] == max(CHILDREN), "the last range ends at the last child"

    done = rebuild(engine, CODEC, POLICY, RULES, chunk=1, processes=2)  # resumes the three ranges, two at a time
    assert (done.children_done, done.events_done) == (len(CHILDREN), events)
    assert seen and seen[-1] == 3
    with engine.connect() as conn:
        assert content_digest(conn) == live
        assert conn.execute(select(rebuild_state)).all() == [], "no rebuild state is left after the switch"
    engine.dispose()


def test_sqlite_is_rebuilt_by_one_process(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    _project_region(engine)
    with pytest.raises(ValueError, match="one writer"):
        rebuild(engine, CODEC, POLICY, RULES, processes=2)
    assert rebuild(engine, CODEC, POLICY, RULES, chunk=3).children_done == len(CHILDREN)
    engine.dispose()
