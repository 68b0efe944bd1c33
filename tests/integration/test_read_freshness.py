"""Reads keep a child's rows between reads (hub.read.story_cache); the decision is still the one for this viewer
at this moment: a consent withdrawn or a relationship ended just before a read already counts in it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from consent_engine import Viewer
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.db.projection_tables import consent_pending, team_members
from hub.read.story import Story, read_timeline
from hub.read.story_cache import StoryCache, cache_for, state
from tests.integration.test_projections_sql import KINDS, POLICY, Feed
from tests.support.story import CAMHS, GP, SCHOOL, story, withdraw_school

pytestmark = pytest.mark.integration
CHILD = str(uuid.UUID(int=7))


@pytest.fixture
def engine(database_url: str) -> Engine:
    e = make_engine(database_url)
    upgrade(e)
    return e


def read(engine: Engine, org: str, role: str, now: datetime | None = None) -> Story:
    with engine.connect() as conn:
        return read_timeline(
            conn, POLICY, Viewer(f"u-{role}", org, role, "direct-care"), CHILD, now or datetime.now(UTC)
        )


def kinds(s: Story) -> dict[str, str]:
    return {KINDS[e["id"]]: e["level"] for e in s.entries}


def test_a_withdrawal_counts_in_the_very_next_read_of_a_kept_child(engine: Engine) -> None:
    feed = Feed(engine)
    feed.send(story(CHILD))
    first, again = read(engine, SCHOOL, "teacher"), read(engine, SCHOOL, "teacher")
    assert again.record is first.record, "unchanged events: the kept rows serve the next read"
    assert kinds(again) == kinds(first) and "thrive.agreed" in kinds(first)

    withdrawal = withdraw_school(CHILD)
    with engine.begin() as conn:  # accepted, not yet applied: the next read already narrows the view
        conn.execute(
            insert(consent_pending).values(event_id=withdrawal["event_id"], child_id=CHILD, queued_at=datetime.now(UTC))
        )
    pending = read(engine, SCHOOL, "teacher")
    assert pending.updating and kinds(pending) == {"concern.raised": "summary"}

    feed.send([withdrawal])  # applied (the projector drops the pending marker with it)
    after = read(engine, SCHOOL, "teacher")
    assert after.record is not first.record, "a new event of the child reloads its record"
    assert not after.updating and kinds(after) == {"concern.raised": "summary"}
    assert kinds(read(engine, GP, "gp"))["thrive.agreed"] == "full", "the withdrawal concerned the school only"


def test_a_relationship_that_ended_a_second_ago_already_counts(engine: Engine) -> None:
    Feed(engine).send(story(CHILD))
    with engine.connect() as conn:
        ended = conn.execute(
            select(team_members.c.until).where(team_members.c.child_id == CHILD, team_members.c.organisation == CAMHS)
        ).scalar_one()
    ended = ended.replace(tzinfo=UTC) if ended.tzinfo is None else ended
    before = read(engine, CAMHS, "camhs-clinician", ended - timedelta(seconds=1))
    after = read(engine, CAMHS, "camhs-clinician", ended + timedelta(seconds=1))
    assert after.record is before.record, "the same kept rows, decided again for the later moment"
    assert "concern.raised" in kinds(before)
    assert "concern.raised" not in kinds(after), "no legitimate relationship once CAMHS's involvement ended"


def test_each_database_keeps_its_own_children(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    Feed(engine).send(story(CHILD))
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    assert read(engine, GP, "gp").entries
    assert cache_for(other) is not cache_for(engine)
    with other.connect() as conn:
        empty = read_timeline(conn, POLICY, Viewer("u", GP, "gp", "direct-care"), CHILD, datetime.now(UTC))
    assert empty.entries == [], "the same child id in another database is another (here: unknown) child"
    other.dispose()


def test_the_cache_keeps_the_most_recently_read_children_up_to_its_entry_limit(engine: Engine) -> None:
    others = [str(uuid.UUID(int=100 + i)) for i in range(3)]
    feed = Feed(engine)
    for child in others:
        feed.send(story(child))
    small = StoryCache(limit=2 * len(story(others[0])))
    with engine.connect() as conn:
        kept = [small.record(conn, c, state(conn, c).fingerprint) for c in others]
        assert len(small) == 2, "the child read longest ago went first"
        assert small.record(conn, others[2], state(conn, others[2]).fingerprint) is kept[2]
        assert small.record(conn, others[0], state(conn, others[0]).fingerprint) is not kept[0], "reloaded"
