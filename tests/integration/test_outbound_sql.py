"""The outbound agent's SQL path on real SQLite and PostgreSQL, without a broker: redelivery never duplicates.

Events go through the projector, then `hub.outbound.feeds.process_batch`, as the worker runs them. A batch
redelivered below the tracked offset is skipped; one redelivered with its tracking lost (a new incarnation of
the log) still sends nothing new, because `feed_disclosures` remembers what each recipient holds.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from consent_engine import Viewer
from hub.audit.verify import verify
from hub.db.engine import make_engine
from hub.db.feed_tables import feed_disclosures, outbound_outbox, subscription_deliveries, subscriptions
from hub.db.migrate import upgrade
from hub.db.tables import audit_log
from hub.disclosure.rules import bundled_rules
from hub.events.codec import EventCodec
from hub.outbound.config import OutboundConfig
from hub.outbound.feed_codec import FeedCodec
from hub.outbound.feeds import process_batch
from hub.outbound.fhir_subscription import TOPIC_ENTRY
from hub.policy_files import load_policy
from hub.read.story import read_timeline
from hub.settings import OutboundSettings
from projections.child_projector import project_batch
from projections.sql_sink import Consumed
from tests.support.story import SCHOOL, story, withdraw_school

pytestmark = pytest.mark.integration
CHILD = str(uuid.UUID(int=9))
TOPIC = "onestory.events.v1"
CODEC, FEED_CODEC = EventCodec.load(), FeedCodec.load()
POLICY, RULES, CONFIG = load_policy(), bundled_rules(), OutboundConfig.load(OutboundSettings())


def records(events: list[dict[str, Any]], first_offset: int) -> list[Consumed]:
    return [
        Consumed(TOPIC, 0, first_offset + i, CODEC.encode(e), CODEC.decode(CODEC.encode(e)))
        for i, e in enumerate(events)
    ]


def run(engine: Engine, batch: list[Consumed], topic_id: str = "topic-1") -> int:
    project_batch(engine, POLICY, RULES, "projector.timeline", {TOPIC: topic_id}, batch)
    return process_batch(engine, POLICY, CONFIG, FEED_CODEC, {TOPIC: topic_id}, batch)


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        outbox = conn.execute(select(func.count()).select_from(outbound_outbox)).scalar_one()
        audits = conn.execute(select(func.count()).select_from(audit_log).where(audit_log.c.action == "disclosure"))
        return int(outbox), int(audits.scalar_one())


def held(engine: Engine, org: str) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(feed_disclosures.c.entry_id, feed_disclosures.c.level).where(
                feed_disclosures.c.recipient == f"feed:{org}"
            )
        )
        return {r.entry_id: r.level for r in rows if r.level != "retracted"}


def test_redelivery_never_duplicates_and_holdings_match_reads(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as conn:  # the school's MIS subscribes to THRIVE entries over FHIR rest-hook
        conn.execute(
            subscriptions.insert().values(
                id="sub-1",
                organisation=SCHOOL,
                role="teacher",
                purpose="direct-care",
                user_id="mis",
                topic=TOPIC_ENTRY,
                filters={"category": "thrive"},
                endpoint="https://mis.example/hook",
                secret="k",
                status="active",
                events_since_start=0,
                created_at=datetime.now(UTC),
                reason=None,
            )
        )
    batch = records(story(CHILD), 0)
    assert run(engine, batch) > 0
    first = counts(engine)
    assert run(engine, batch) == 0 and counts(engine) == first  # redelivered below the tracked offset
    assert run(engine, batch, topic_id="topic-2") == 0 and counts(engine) == first  # tracking lost: still nothing
    for sub in CONFIG.subscribers:
        with engine.connect() as conn:
            story_ = read_timeline(
                conn, POLICY, Viewer("u", sub.organisation, sub.role, sub.purpose), CHILD, datetime.now(UTC)
            )
        assert held(engine, sub.organisation) == {e["id"]: e["level"] for e in story_.entries}

    school_before = held(engine, SCHOOL)
    assert run(engine, records([withdraw_school(CHILD)], len(batch)), topic_id="topic-2") > 0
    with engine.connect() as conn:
        retractions = [
            FEED_CODEC.decode(v)
            for v in conn.execute(
                select(outbound_outbox.c.value).where(outbound_outbox.c.topic == f"onestory.out.{SCHOOL}.v1")
            ).scalars()
        ]
    retracted = {r["entry_id"] for r in retractions if r["op"] == "retract"}
    assert retracted == set(school_before) - set(held(engine, SCHOOL)) and retracted
    with engine.connect() as conn:
        bundles = [
            r.body
            for r in conn.execute(
                select(subscription_deliveries.c.body).order_by(subscription_deliveries.c.event_number)
            )
        ]
    methods = [b["entry"][1]["request"]["method"] for b in bundles]
    assert methods == ["PUT", "DELETE"]  # the THRIVE entry at summary, then its retraction after the withdrawal
    assert bundles[0]["entry"][1]["resource"]["extension"][0]["valueCode"] == "summary"
    with engine.connect() as conn:
        checked = verify(conn)  # the disclosure records keep the audit hash chain intact on both backends
    assert checked.problem is None and checked.records >= counts(engine)[1]
    engine.dispose()
