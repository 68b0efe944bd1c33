"""Issue 10 end to end: a FHIR rest-hook subscription to a real local HTTP receiver, on SQLite and PostgreSQL.

The receiver verifies every signature, fails the first deliveries (retried with backoff), then stays down
until deliveries land in the dead-letter state; `onestory subscriptions replay` sends them again.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from connectors.publisher import Publisher
from hub.db.feed_tables import subscription_deliveries
from hub.db.tables import audit_log
from hub.events.codec import EventCodec
from hub.kafka.producer import DurableProducer
from hub.outbound.fhir_subscription import FILTER_EXT, SECRET_EXT, STATUS_PROFILE, TOPIC_ENTRY
from tests.integration.test_outbound_feeds import child_id_of, wait_until
from tests.support.events import event
from tests.support.hub_process import RunningHub, start_hub
from tests.support.outbound import Receiver
from tests.support.story import CAMHS, story

pytestmark = pytest.mark.integration
MAX_ATTEMPTS = 4


@pytest.fixture
def outbound_hub(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningHub]:
    """`onestory up` with fast retries, so backoff and dead-lettering happen within the test."""
    monkeypatch.setenv("ONESTORY_OUTBOUND_RETRY_BASE_SECONDS", "0.2")
    monkeypatch.setenv("ONESTORY_OUTBOUND_RETRY_MAX_SECONDS", "1")
    monkeypatch.setenv("ONESTORY_OUTBOUND_MAX_ATTEMPTS", str(MAX_ATTEMPTS))
    monkeypatch.setenv("ONESTORY_OUTBOUND_POLL_SECONDS", "0.1")
    hub = start_hub(tmp_path / "var", database_url)
    try:
        yield hub
    finally:
        if hub.process.poll() is None:
            hub.stop()


def cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "hub", "subscriptions", *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def subscribe(hub: RunningHub, receiver: Receiver, criteria: str = TOPIC_ENTRY) -> httpx.Response:
    token = hub.token(user="rx4-epr-system", org=CAMHS, role="camhs-clinician")
    resource = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "Referrals for children CAMHS is involved with",
        "criteria": criteria,
        "_criteria": {"extension": [{"url": FILTER_EXT, "valueString": "category=referral"}]},
        "channel": {"type": "rest-hook", "endpoint": receiver.url, "payload": "application/fhir+json"},
    }
    return httpx.post(
        f"{hub.api}/fhir/Subscription", json=resource, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def second_referral() -> dict[str, Any]:
    """A new referral CAMHS receives (CAMHS's own plan ended on day 40, so a GP entry would now be `none`)."""
    return event(
        "referral.received",
        "referral",
        CAMHS,
        "Referral",
        {"referral_id": "R2", "status": "received"},
        day=60,
        org_type="camhs",
        correlation={"referral": "R2"},
    )


def test_rest_hook_signed_retried_dead_lettered_and_replayed(outbound_hub: RunningHub, database_url: str) -> None:
    hub = outbound_hub
    receiver = Receiver(fail_next=2)
    try:
        assert subscribe(hub, receiver, criteria="https://example.org/not-a-topic").status_code == 422
        reply = subscribe(hub, receiver)
        assert reply.status_code == 201, reply.text
        created = reply.json()
        sub_id = created["id"]
        receiver.secret = next(e["valueString"] for e in created["extension"] if e["url"] == SECRET_EXT)
        token = hub.token(user="rx4-epr-system", org=CAMHS, role="camhs-clinician")
        shown = httpx.get(f"{hub.api}/fhir/Subscription/{sub_id}", headers={"Authorization": f"Bearer {token}"}).json()
        assert shown["status"] == "active" and "extension" not in shown  # the secret is shown once only

        publisher = Publisher(DurableProducer(hub.kafka), EventCodec.load())
        publisher.publish(story())
        child_id = child_id_of(hub)
        wait_until(lambda: len(receiver.accepted) >= 2, 30, "the referral notifications never arrived")
        assert receiver.failed == 2 and receiver.bad_signatures == 0  # two failures, retried with backoff
        for got in receiver.accepted:
            bundle = got["bundle"]
            assert bundle["resourceType"] == "Bundle" and bundle["type"] == "history"
            status = bundle["entry"][0]["resource"]
            assert status["resourceType"] == "Parameters" and status["meta"]["profile"] == [STATUS_PROFILE]
            params = {p["name"]: p for p in status["parameter"]}
            assert params["topic"]["valueCanonical"] == TOPIC_ENTRY
            focus = bundle["entry"][1]["resource"]
            assert focus["resourceType"] == "Basic" and focus["subject"]["reference"] == f"Patient/{child_id}"
            assert focus["code"]["coding"][0]["code"] in ("referral.received", "referral.accepted")
        numbers = sorted(
            int(
                {p["name"]: p for p in g["bundle"]["entry"][0]["resource"]["parameter"]}[
                    "events-since-subscription-start"
                ]["valueString"]
            )
            for g in receiver.accepted
        )
        assert numbers == [1, 2]

        # The endpoint goes down: the next notification is retried MAX_ATTEMPTS times, then dead-lettered.
        receiver.always_fail = True
        publisher.publish([second_referral()])
        engine = create_engine(database_url)

        def dead() -> int:
            with engine.connect() as conn:
                return len(
                    conn.execute(
                        select(subscription_deliveries.c.id).where(subscription_deliveries.c.status == "dead")
                    ).all()
                )

        wait_until(lambda: dead() == 1, 30, "the failing delivery never reached the dead-letter state")
        status_out = json.loads(cli("status", sub_id, "--database", database_url, "--json"))
        assert status_out["deliveries"] == {"pending": 0, "delivered": 2, "dead": 1}
        assert (
            status_out["recent"][0]["attempts"] == MAX_ATTEMPTS and status_out["recent"][0]["last_error"] == "HTTP 503"
        )
        assert sub_id in cli("list", "--database", database_url)

        # Back up: replay sends the dead letter again.
        receiver.always_fail = False
        assert "requeued 1 " in cli("replay", sub_id, "--database", database_url)
        wait_until(lambda: len(receiver.accepted) == 3, 20, "the replayed delivery never arrived")
        assert (
            receiver.accepted[-1]["bundle"]["entry"][1]["resource"]["code"]["coding"][0]["code"] == "referral.received"
        )
        assert json.loads(cli("status", sub_id, "--database", database_url, "--json"))["deliveries"]["delivered"] == 3

        # Each notification was audited as a disclosure to the subscription, at its level.
        with engine.connect() as conn:
            rows = (
                conn.execute(select(audit_log).where(audit_log.c.user_id == f"subscription:{sub_id}")).mappings().all()
            )
            actions = {r["action"] for r in conn.execute(select(audit_log.c.action)).mappings()}
        engine.dispose()
        assert "subscription-create" in actions
        assert sum(len(r["entries"]) for r in rows) == 3
        assert all(r["action"] == "disclosure" and r["organisation"] == CAMHS for r in rows)
    finally:
        receiver.close()
