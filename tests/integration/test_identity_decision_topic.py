"""Identity decisions reach onestory.identity.v1 on the real broker, through the outbox, in commit order."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from sqlalchemy import select

from connectors.identifiers import NHS_NUMBER_SYSTEM
from hub.db.engine import make_engine
from hub.db.feed_tables import outbound_outbox
from hub.db.identity_tables import identity_reviews
from hub.db.migrate import upgrade
from hub.kafka.embedded_broker import EmbeddedBroker
from hub.kafka.producer import DurableProducer
from hub.kafka.topics import IDENTITY, admin, ensure_topics
from hub.outbound.relay import publish_outbox
from projections.identity import review
from projections.identity.decision_feed import bundled_codec
from projections.identity.registry import Registry

pytestmark = pytest.mark.integration
STEWARD = review.Steward("steward-7", "990", "data-steward", "direct-care", None)


def subject(ids: list[tuple[str, str]], dob: date, postcode: str) -> dict[str, Any]:
    return {
        "identifiers": [{"system": s, "value": v, "validated": True} for s, v in ids],
        "given_name": "Amara",
        "family_name": "Okafor",
        "birth_date": dob,
        "sex": "F",
        "postcode": postcode,
    }


def read_topic(bootstrap: str, wanted: set[str], timeout: float = 20.0) -> list[tuple[bytes, dict[str, Any], dict]]:
    partitions = admin(bootstrap).list_topics(IDENTITY, timeout=10).topics[IDENTITY].partitions
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"t-{uuid.uuid4()}", "enable.auto.commit": False})
    consumer.assign([TopicPartition(IDENTITY, p, 0) for p in partitions])
    found: list[tuple[bytes, dict[str, Any], dict]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(found) < len(wanted):
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            value = bundled_codec().decode(msg.value())
            if value["decision_id"] in wanted:
                found.append((msg.key(), value, dict(msg.headers() or [])))
    finally:
        consumer.close()
    return found


def test_link_and_unmerge_decisions_are_published_with_ids_only(broker: EmbeddedBroker, sqlite_url: str) -> None:
    ensure_topics(broker.bootstrap, partitions=2)
    engine = make_engine(sqlite_url)
    upgrade(engine)
    registry = Registry.bundled()
    now = datetime.now(UTC)
    nhs = "9434765870"
    with engine.begin() as conn:
        a = registry.resolve(
            conn, subject([(NHS_NUMBER_SYSTEM, nhs), ("urn:x:RX1:MR", "M1")], date(2011, 3, 4), "LS1 4AP"), "RX1", now
        )
        b = registry.resolve(conn, subject([("urn:x:RX1:MR", "M2")], date(2011, 4, 3), "BD3 9ZZ"), "RX1", now)
    assert a.child_id != b.child_id and b.reviews == ["score"]
    with engine.begin() as conn:
        review_id = conn.execute(select(identity_reviews.c.review_id)).scalar_one()
        linked = review.decide(conn, review_id, "link", STEWARD, "paper record: Amara Okafor, 04/03/2011", now)
    with engine.begin() as conn:
        undone = review.undo_merge(conn, linked["mergeId"], STEWARD, "two different children after all", now)
    with engine.connect() as conn:
        queued = conn.execute(select(outbound_outbox.c.record_id).where(outbound_outbox.c.topic == IDENTITY)).scalars()
        ids = list(queued)
    assert len(ids) == 2, "one outbox row per decision, written with it"

    producer = DurableProducer(broker.bootstrap, client_id="test-identity-decisions")
    try:
        assert publish_outbox(engine, producer) >= 2
    finally:
        producer.close()
    messages = read_topic(broker.bootstrap, set(ids))
    assert [m[1]["kind"] for m in messages] == ["link", "unmerge"]
    link, unmerge = messages[0], messages[1]
    assert link[0] == a.child_id.encode() and link[1]["retired_child_id"] == b.child_id
    assert link[1]["source"] == "steward" and link[1]["decided_by"] == "steward-7" and link[1]["review_id"] == review_id
    assert unmerge[1]["merge_id"] == link[1]["merge_id"] == linked["mergeId"]
    assert {unmerge[1]["surviving_child_id"], unmerge[1]["retired_child_id"]} == {a.child_id, b.child_id}
    assert link[2]["onestory-record-id"] == link[1]["decision_id"].encode()
    wire = b"".join(m[0] + repr(m[1]).encode() for m in messages)
    assert b"Amara" not in wire and b"Okafor" not in wire and b"paper record" not in wire, "ids only, no reasons"
    assert undone
