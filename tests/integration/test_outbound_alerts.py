"""Issue 10 end to end: CP-IS style alerts on the real broker, on SQLite and PostgreSQL.

A child on a child protection plan attends A&E at an acute trust: the council responsible (990) is told on its
feed, with only the fields the alert policy shares. A practitioner outside the council reads the record: the
council is told who looked (organisation, role, purpose, time). Both are audited as disclosures.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from connectors.publisher import Publisher
from hub.db.tables import audit_log
from hub.events.codec import EventCodec
from hub.kafka.producer import DurableProducer
from hub.outbound.fhir_subscription import SECRET_EXT, TOPIC_ALERT
from tests.integration.test_outbound_feeds import child_id_of, wait_until
from tests.support.events import event
from tests.support.hub_process import RunningHub
from tests.support.outbound import FeedReader, Receiver
from tests.support.story import COUNCIL, GP

pytestmark = pytest.mark.integration
ACUTE = "RX1"


def child_on_a_plan_attends_urgent_care() -> list[dict[str, Any]]:
    return [
        event(
            "person.registered",
            "demographics",
            GP,
            "Person",
            {"registered_gp": GP},
            day=0,
            org_type="gp-practice",
            basis=("lawful_basis", "direct-care"),
        ),
        event(
            "plan.started",
            "social-care-plan",
            COUNCIL,
            "Plan",
            {"plan_id": "CP-1", "plan_type": "child-protection", "status": "started", "category_code": "NEG"},
            day=1,
            org_type="local-authority",
            correlation={"plan": "CP-1"},
            summary="Child protection plan",
        ),
        event(
            "encounter.started",
            "encounter",
            ACUTE,
            "Encounter",
            {"encounter_id": "ED-1", "encounter_class": "E", "location": "Emergency department"},
            day=5,
            org_type="acute-trust",
            basis=("lawful_basis", "direct-care"),
        ),
        event(
            "encounter.started",
            "encounter",
            ACUTE,
            "Encounter",
            {"encounter_id": "OP-1", "encounter_class": "O", "location": "Outpatients"},
            day=6,
            org_type="acute-trust",
            basis=("lawful_basis", "direct-care"),
        ),
    ]


def read_timeline(hub: RunningHub, child_id: str, org: str, role: str) -> None:
    token = hub.token(user=f"u-{role}", org=org, role=role)
    reply = httpx.get(
        f"{hub.api}/api/children/{child_id}/timeline", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    reply.raise_for_status()


def read_fhir(hub: RunningHub, child_id: str, org: str, role: str) -> None:
    token = hub.token(user=f"u-{role}-fhir", org=org, role=role)
    reply = httpx.get(
        f"{hub.api}/fhir/Patient/{child_id}/$everything", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    reply.raise_for_status()


def test_cpis_alerts_on_attendance_and_on_view(running_hub: RunningHub, database_url: str) -> None:
    hub = running_hub
    council = FeedReader(hub.kafka, COUNCIL)
    receiver = Receiver()
    try:
        # The council's case management system also subscribes to its alerts over FHIR rest-hook.
        token = hub.token(user="lcs-system", org=COUNCIL, role="social-worker", purpose="safeguarding")
        created = httpx.post(
            f"{hub.api}/fhir/Subscription",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "resourceType": "Subscription",
                "criteria": TOPIC_ALERT,
                "channel": {"type": "rest-hook", "endpoint": receiver.url, "payload": "application/fhir+json"},
            },
            timeout=10,
        ).json()
        receiver.secret = next(e["valueString"] for e in created["extension"] if e["url"] == SECRET_EXT)
        Publisher(DurableProducer(hub.kafka), EventCodec.load()).publish(child_on_a_plan_attends_urgent_care())
        child_id = child_id_of(hub)
        wait_until(lambda: council.poll(0.2) >= 0 and len(council.of("alert")) >= 1, 60, "no attendance alert")
        council.poll(1.0)
        alerts = council.of("alert")
        assert len(alerts) == 1, "only the emergency attendance raises an alert, once"
        alert = alerts[0]
        assert alert["reason"] == "cpis-urgent-care-attendance" and alert["level"] == "flag"
        assert alert["child_id"] == child_id and alert["entry_id"] is None
        content = json.loads(alert["content"])
        assert content == {
            "alert": "cpis-urgent-care-attendance",
            "attended_at": content["attended_at"],
            "setting": ACUTE,
            "status": "child-protection-plan",
        }  # nothing clinical

        read_timeline(hub, child_id, COUNCIL, "social-worker")  # the council itself: no alert
        read_timeline(hub, child_id, GP, "gp")
        wait_until(lambda: council.poll(0.2) >= 0 and len(council.of("alert")) >= 2, 15, "no who-looked alert")
        council.poll(1.0)
        viewed = [a for a in council.of("alert") if a["reason"] == "cpis-record-viewed"]
        assert len(viewed) == 1
        looked = json.loads(viewed[0]["content"])
        assert {k: looked[k] for k in ("viewer_organisation", "viewer_role", "viewer_purpose", "status")} == {
            "viewer_organisation": GP,
            "viewer_role": "gp",
            "viewer_purpose": "direct-care",
            "status": "child-protection-plan",
        }
        assert set(looked) == {"alert", "viewed_at", "viewer_organisation", "viewer_role", "viewer_purpose", "status"}

        engine = create_engine(database_url)
        with engine.connect() as conn:
            rows = (
                conn.execute(
                    select(audit_log).where(
                        audit_log.c.action == "disclosure", audit_log.c.user_id == "onestory-outbound"
                    )
                )
                .mappings()
                .all()
            )
        engine.dispose()
        audited = {e["id"] for r in rows for e in r["entries"]}
        assert {f"alert:{a['record_id']}" for a in council.of("alert")} == audited
        assert all(r["organisation"] == COUNCIL and r["child_id"] == child_id for r in rows)

        wait_until(lambda: len(receiver.accepted) == 2, 15, "the alert subscription was not notified twice")
        codes = [a["bundle"]["entry"][1]["resource"]["code"]["coding"][0]["code"] for a in receiver.accepted]
        assert sorted(codes) == ["alert:cpis-record-viewed", "alert:cpis-urgent-care-attendance"]
        assert receiver.bad_signatures == 0

        # A FHIR client's read of the record tells the council too (the council's own does not).
        read_fhir(hub, child_id, COUNCIL, "social-worker")
        read_fhir(hub, child_id, GP, "gp")
        wait_until(lambda: council.poll(0.2) >= 0 and len(council.of("alert")) >= 3, 15, "no alert for a FHIR read")
        council.poll(1.0)
        viewed = [json.loads(a["content"]) for a in council.of("alert") if a["reason"] == "cpis-record-viewed"]
        assert len(viewed) == 2 and viewed[1]["viewer_organisation"] == GP and viewed[1]["viewer_role"] == "gp"
        wait_until(lambda: len(receiver.accepted) == 3, 15, "the alert subscription was not told of the FHIR read")
    finally:
        council.close()
        receiver.close()
