"""The set-based outbound feeds on real SQLite and PostgreSQL: a batch of many children is many one-child batches.

`hub.outbound.feeds.process_batch` reads all of a batch's children at once and writes in bulk. Processing a
batch that interleaves several children must give exactly what processing each child's events as its own
batch gives: the same holdings, the same feed records and notifications, one audit record per recipient,
child and batch, in the same order; and what each feed holds is what a read by that organisation shows.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from consent_engine import Viewer
from hub.bench.workload import child_events, nhs_numbers
from hub.db.engine import make_engine
from hub.db.feed_tables import feed_disclosures, outbound_outbox, subscription_deliveries, subscriptions
from hub.db.migrate import upgrade
from hub.db.tables import audit_log
from hub.db.upsert import insert_ignore_all, upsert_all
from hub.disclosure.rules import bundled_rules
from hub.events.codec import EventCodec
from hub.outbound.config import OutboundConfig
from hub.outbound.feed_codec import FeedCodec
from hub.outbound.feeds import process_batch
from hub.outbound.fhir_subscription import TOPIC_ENTRY, TOPIC_REFERRAL
from hub.policy_files import load_policy
from hub.read.story import read_timeline
from hub.settings import OutboundSettings
from projections.child_projector import project_batch
from projections.sql_sink import Consumed
from tests.support.events import event

pytestmark = pytest.mark.integration
TOPIC, TOPICS = "onestory.events.v1", {"onestory.events.v1": "topic-1"}
CODEC, FEED_CODEC = EventCodec.load(), FeedCodec.load()
POLICY, RULES, CONFIG = load_policy(), bundled_rules(), OutboundConfig.load(OutboundSettings())
SUBS = [
    ("sub-thrive", "100001", "teacher", TOPIC_ENTRY, {"category": "thrive"}),
    ("sub-ref", "RX4", "camhs-clinician", TOPIC_REFERRAL, {"involved": "true"}),
]


def _children(n: int) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(7)
    out = {}
    for i, nhs in enumerate(nhs_numbers(rng, n)):
        child_id = str(uuid.UUID(int=100 + i))
        events = child_events(nhs, rng, 16)
        for e in events:
            e["child_id"] = child_id
        out[child_id] = events
    return out


def _correction(target: dict[str, Any]) -> dict[str, Any]:
    """The source marks an earlier entry entered in error: held copies must be retracted."""
    return event(
        "entry.entered-in-error",
        target["category"],
        target["source"]["organisation"],
        "Correction",
        {"target_record_id": target["source"]["record_id"], "target_event_id": target["event_id"]},
        child_id=target["child_id"],
        day=300,
        org_type=target["source"]["organisation_type"],
        basis=("consent", None),
    )


def _batches() -> list[list[dict[str, Any]]]:
    """Three batches interleaving four children (as the events topic delivers them), a correction in the last."""
    kids = _children(4)
    first, second, third = [], [], []
    for i in range(16):
        for events in kids.values():
            (first if i < 6 else second if i < 11 else third).append(events[i])
    third.append(_correction(next(iter(kids.values()))[10]))
    return [first, second, third]


def _engine(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        for sub_id, org, role, topic, filters in SUBS:
            conn.execute(
                subscriptions.insert().values(
                    id=sub_id,
                    organisation=org,
                    role=role,
                    purpose="direct-care",
                    user_id="system",
                    topic=topic,
                    filters=filters,
                    endpoint="https://example.org/hook",
                    secret="k",
                    status="active",
                    events_since_start=0,
                    created_at=datetime(2026, 1, 1, tzinfo=UTC),
                    reason=None,
                )
            )
    return engine


def _run(engine: Engine, batches: list[list[dict[str, Any]]]) -> int:
    offset, sent = 0, 0
    for events in batches:
        records = []
        for e in events:
            body = CODEC.encode(e)
            records.append(Consumed(TOPIC, 0, offset, body, CODEC.decode(body)))
            offset += 1
        project_batch(engine, POLICY, RULES, "projector.timeline", TOPICS, records)
        sent += process_batch(engine, POLICY, CONFIG, FEED_CODEC, TOPICS, records)
    return sent


def _observed(engine: Engine) -> dict[str, Any]:
    """Everything the feeds wrote, without the times of the run (each batch stamps its own)."""
    with engine.connect() as conn:
        holdings = [
            (r.recipient, r.entry_id, r.child_id, r.level, r.record_id)
            for r in conn.execute(
                select(feed_disclosures).order_by(feed_disclosures.c.recipient, feed_disclosures.c.entry_id)
            )
        ]
        outbox = []
        for r in conn.execute(select(outbound_outbox).order_by(outbound_outbox.c.seq)):
            record = FEED_CODEC.decode(r.value)
            record.pop("sent_at")
            outbox.append((r.topic, r.key, record))
        deliveries = []
        for r in conn.execute(select(subscription_deliveries).order_by(subscription_deliveries.c.id)):
            focus = r.body["entry"][1]
            deliveries.append(
                (r.id, r.subscription_id, r.event_number, focus["request"], focus.get("resource", {}).get("extension"))
            )
        audits = [
            (r.action, r.user_id, r.organisation, r.child_id, r.query, r.entries, r.reason, r.detail)
            for r in conn.execute(select(audit_log).where(audit_log.c.action == "disclosure").order_by(audit_log.c.seq))
        ]
    return {"holdings": holdings, "outbox": outbox, "deliveries": deliveries, "audits": audits}


def test_a_batch_of_many_children_is_many_one_child_batches(database_url: str, tmp_path: Any) -> None:
    batches = _batches()
    together = _engine(database_url)
    apart = _engine(f"sqlite:///{tmp_path / 'apart.db'}")
    sent_together = _run(together, batches)
    one_child_batches = []
    for events in batches:
        by_child: dict[str, list[dict[str, Any]]] = {}
        for e in events:
            by_child.setdefault(e["child_id"], []).append(e)
        one_child_batches += list(by_child.values())
    assert _run(apart, one_child_batches) == sent_together > 0
    got, want = _observed(together), _observed(apart)
    assert got == want
    retracted = [r for _, _, r in got["outbox"] if r["op"] == "retract"]
    assert retracted and {r["reason"] for r in retracted} == {"entry-withdrawn"}
    assert got["deliveries"] and len({(a[1], a[3]) for a in got["audits"]}) > 4
    now = datetime.now(UTC)
    with together.connect() as conn:
        for sub in CONFIG.subscribers:
            viewer = Viewer("u", sub.organisation, sub.role, sub.purpose)
            for child_id in {e["child_id"] for e in batches[0]}:
                shown = read_timeline(conn, POLICY, viewer, child_id, now).entries
                held = {
                    h[1]: h[3]
                    for h in got["holdings"]
                    if h[0] == sub.recipient and h[2] == child_id and h[3] != "retracted"
                }
                assert held == {e["id"]: e["level"] for e in shown}
    together.dispose()
    apart.dispose()


def test_bulk_writes_store_what_single_statements_store(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    now = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
    outbox = [
        {
            "record_id": f"r{i}",
            "topic": "t",
            "key": b"k\x00",
            "value": bytes([i, 0, 255]),
            "created_at": now,
            "sent_at": None,
        }
        for i in range(3)
    ]
    held = [
        {
            "recipient": "feed:X",
            "entry_id": f"e{i}",
            "child_id": "c",
            "organisation": "X",
            "level": "full",
            "record_id": f"r{i}",
            "policy_version": None,
            "updated_at": now,
        }
        for i in range(3)
    ]
    with engine.begin() as conn:
        insert_ignore_all(conn, outbound_outbox, outbox[:2])
        insert_ignore_all(conn, outbound_outbox, [outbox[1] | {"topic": "ignored"}, outbox[2]])
        conn.execute(feed_disclosures.insert(), held[:1])
        upsert_all(
            conn, feed_disclosures, [held[0] | {"level": "summary"}, held[1], held[2], held[2] | {"level": "flag"}]
        )
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(outbound_outbox).order_by(outbound_outbox.c.seq)).mappings()]
        levels = {
            r.entry_id: r.level for r in conn.execute(select(feed_disclosures.c.entry_id, feed_disclosures.c.level))
        }
        stamps = set(conn.execute(select(feed_disclosures.c.updated_at)).scalars())
    assert [(r["record_id"], r["topic"], bytes(r["key"]), bytes(r["value"])) for r in rows] == [
        (o["record_id"], "t", o["key"], o["value"]) for o in outbox
    ]
    assert levels == {"e0": "summary", "e1": "full", "e2": "flag"}
    assert {s.replace(tzinfo=UTC) if s.tzinfo is None else s for s in stamps} == {now}
    engine.dispose()
