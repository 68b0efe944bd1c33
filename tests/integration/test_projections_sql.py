"""Issue 6 at the SQL level: the projector on real SQLite and PostgreSQL, read per role, rebuilt identically."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from consent_engine import Viewer
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.db.projection_tables import consent_pending
from hub.db.tables import event_store, timeline_entries
from hub.disclosure.rules import bundled_rules
from hub.events.codec import EventCodec
from hub.policy_files import load_policy
from hub.read.story import read_timeline, summary
from projections.child_projector import project_batch
from projections.rebuild import content_digest, rebuild
from projections.sql_sink import Consumed
from tests.support.story import CAMHS, COUNCIL, GP, SCHOOL, VCSE, story, withdraw_school

pytestmark = pytest.mark.integration
CHILD = str(uuid.UUID(int=7))
OTHER = str(uuid.UUID(int=8))
TOPIC = "onestory.events.v1"
CODEC = EventCodec.load()
POLICY = load_policy()
RULES = bundled_rules()


class Feed:
    """Feeds events to the projector as the worker would, with offsets, redelivery and all."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.offset = -1

    def send(self, events: list[dict[str, Any]], offsets: list[int] | None = None) -> int:
        records = []
        for i, e in enumerate(events):
            offset = offsets[i] if offsets else self.offset + 1 + i
            records.append(Consumed(TOPIC, 0, offset, CODEC.encode(e), CODEC.decode(CODEC.encode(e))))
        if not offsets:
            self.offset += len(events)
        return project_batch(self.engine, POLICY, RULES, "projector.timeline", {TOPIC: "topic-1"}, records)


KINDS = {e["event_id"]: e["kind"] for e in [*story(CHILD), withdraw_school(CHILD)]}


def view(engine: Engine, org: str, role: str, child: str = CHILD) -> dict[str, str]:
    """Kind -> level of what this viewer sees (flag entries do not say their kind: the test knows it)."""
    with engine.connect() as conn:
        s = read_timeline(conn, POLICY, Viewer(f"u-{role}", org, role, "direct-care"), child, datetime.now(UTC))
    for e in s.entries:
        assert e["level"] == "flag" or e["kind"] == KINDS[e["id"]]
        assert e["level"] != "flag" or set(e) == {"id", "occurredAt", "source", "level", "note"}
    return {KINDS[e["id"]]: e["level"] for e in s.entries}


@pytest.fixture
def engine(database_url: str) -> Engine:
    e = make_engine(database_url)
    upgrade(e)
    return e


def test_story_projects_once_per_event_and_each_role_sees_its_share(engine: Engine) -> None:
    feed = Feed(engine)
    events = story(CHILD)
    assert feed.send(events[:6]) == 6
    assert feed.send(events[6:]) == len(events) - 6
    assert feed.send(events[:3], offsets=[0, 1, 2]) == 0, "redelivery below the tracked offset"
    assert feed.send(events[3:5]) == 0, "the same events at new offsets are deduplicated by event id"
    with engine.connect() as conn:
        assert conn.execute(select(timeline_entries.c.entry_id)).all().__len__() == len(events)

    teacher = view(engine, SCHOOL, "teacher")
    assert teacher["concern.raised"] == "summary"  # its own school's entry, at the role's minimum-necessary cap
    assert teacher["thrive.agreed"] == "summary"
    assert teacher.get("assessment.completed", "none") in ("none", "flag")  # PSY: a flag at most
    assert "plan.started" not in teacher  # child in need plan: not a teacher's business
    assert "self-referral.submitted" not in teacher

    gp = view(engine, GP, "gp")
    assert gp["assessment.completed"] == "full" and gp["thrive.agreed"] == "full"
    assert gp["concern.raised"] == "summary" and gp["plan.started"] == "summary"

    social = view(engine, COUNCIL, "social-worker")
    assert social["plan.started"] == "full" and social["assessment.completed"] == "full"
    assert social["thrive.agreed"] == "summary"

    vcse = view(engine, VCSE, "vcse-worker")
    assert vcse["vcse.session"] == "full" and vcse["self-referral.submitted"] == "full"
    assert vcse["thrive.agreed"] == "summary"
    assert vcse.get("assessment.completed", "none") in ("none", "flag")  # PSY limit for VCSE workers

    camhs = view(engine, CAMHS, "camhs-clinician")
    assert camhs["assessment.completed"] == "full"  # its own entries
    assert "concern.raised" not in camhs, "after the agreed ending CAMHS has no legitimate relationship"

    with engine.connect() as conn:
        s = read_timeline(conn, POLICY, Viewer("u", GP, "gp", "direct-care"), CHILD, datetime.now(UTC))
        shown = summary(conn, s, datetime.now(UTC))
    assert shown["thrive"]["grouping"] == "Getting Help"
    assert shown["ending"]["criteria"].startswith("Sleeping most nights")
    assert [e["status"] for e in shown["episodes"]] == ["ended"]
    assert shown["episodes"][0]["waiting_days"] == 10.0
    assert {m["organisation"] for m in shown["team"]} == {SCHOOL, CAMHS, GP, COUNCIL, VCSE}


def test_withdrawal_and_pending_consent_narrow_the_school_view(engine: Engine) -> None:
    feed = Feed(engine)
    feed.send(story(CHILD))
    before = view(engine, SCHOOL, "teacher")
    assert "thrive.agreed" in before

    withdrawal = withdraw_school(CHILD)
    with engine.begin() as conn:  # what the identity processor records when it routes a consent event
        conn.execute(
            insert(consent_pending).values(event_id=withdrawal["event_id"], child_id=CHILD, queued_at=datetime.now(UTC))
        )
    updating = view(engine, SCHOOL, "teacher")
    assert updating == {"concern.raised": "summary"}, "while a consent change is pending, shared entries are hidden"

    feed.send([withdrawal])
    after = view(engine, SCHOOL, "teacher")
    assert after == {"concern.raised": "summary"}
    assert view(engine, GP, "gp")["thrive.agreed"] == "full", "the withdrawal concerned the school only"


def test_rebuild_resumes_after_interruption_and_matches_the_live_projection(engine: Engine) -> None:
    feed = Feed(engine)
    feed.send(story(CHILD) + story(OTHER)[1:] + [withdraw_school(CHILD)])
    with engine.connect() as conn:
        live = content_digest(conn)
        assert conn.execute(select(event_store.c.seq)).all()

    partial = rebuild(engine, CODEC, POLICY, RULES, chunk=1, stop_after_chunks=1)
    assert partial.children_done == 1, "interrupted after the first child"
    with engine.connect() as conn:
        assert content_digest(conn) == live, "the live projection is untouched until the switch"
    done = rebuild(engine, CODEC, POLICY, RULES, chunk=1)
    assert done.children_done == 2
    with engine.connect() as conn:
        assert content_digest(conn) == live
    assert view(engine, SCHOOL, "teacher") == {"concern.raised": "summary"}

    rebuild(engine, CODEC, POLICY, RULES, names=["timeline"])  # a second rebuild on the swapped tables
    with engine.connect() as conn:
        assert content_digest(conn) == live
