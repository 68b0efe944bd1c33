"""Issue 10 end to end: per-organisation outbound feeds on the real broker, on SQLite and PostgreSQL.

Three organisations receive feeds as different viewer classes (hub/outbound/subscribers.yaml): CAMHS RX4 as
camhs-clinician, school 100001 as teacher, council 990 as social-worker. Each feed must hold exactly what
the API shows that class (feeds and reads cannot disagree), different organisations get different levels of
the same entries, nothing is sent at `none`, a withdrawal yields retractions, and every record is audited.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import create_engine, select

from connectors.identifiers import NHS_NUMBER_SYSTEM
from connectors.publisher import Publisher
from hub.db.tables import audit_log
from hub.events.codec import EventCodec
from hub.kafka.producer import DurableProducer
from tests.support.hub_process import RunningHub
from tests.support.outbound import FeedReader
from tests.support.story import CAMHS, COUNCIL, SCHOOL, story, withdraw_school

pytestmark = pytest.mark.integration
NHS = "9434765870"
FEEDS = {CAMHS: "camhs-clinician", SCHOOL: "teacher", COUNCIL: "social-worker"}
KINDS = {e["event_id"]: e["kind"] for e in [*story(), withdraw_school()]}


def child_id_of(hub: RunningHub, nhs: str = NHS, within: float = 20) -> str:
    token = hub.token(org="A81001", role="gp")
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        bundle = httpx.get(
            f"{hub.api}/fhir/Patient",
            params={"identifier": f"{NHS_NUMBER_SYSTEM}|{nhs}"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()
        if bundle.get("total"):
            return str(bundle["entry"][0]["resource"]["id"])
        time.sleep(0.1)
    raise AssertionError("the child never appeared")


def api_levels(hub: RunningHub, child_id: str, org: str) -> dict[str, str]:
    token = hub.token(user=f"u-{org}", org=org, role=FEEDS[org])
    reply = httpx.get(
        f"{hub.api}/api/children/{child_id}/timeline", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    reply.raise_for_status()
    return {e["id"]: e["level"] for e in reply.json()["entries"]}


def wait_until(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def by_kind(levels: dict[str, str]) -> dict[str, str]:
    return {KINDS[k]: v for k, v in levels.items()}


def test_each_organisation_gets_what_it_may_see_and_retractions(running_hub: RunningHub, database_url: str) -> None:
    hub = running_hub
    publisher = Publisher(DurableProducer(hub.kafka), EventCodec.load())
    readers = {org: FeedReader(hub.kafka, org) for org in FEEDS}
    try:
        publisher.publish(story())
        child_id = child_id_of(hub)

        def agree() -> bool:
            for reader in readers.values():
                reader.poll(0.2)
            return all(readers[org].held() == api_levels(hub, child_id, org) and readers[org].held() for org in FEEDS)

        wait_until(agree, 60, "the feeds never matched what the API shows each organisation")
        camhs, school, council = (by_kind(readers[o].held()) for o in (CAMHS, SCHOOL, COUNCIL))
        assert camhs["assessment.completed"] == "full" and camhs["thrive.agreed"] == "full"
        assert school["thrive.agreed"] == "summary" and school["concern.raised"] == "summary"
        assert council["plan.started"] == "full" and council["thrive.agreed"] == "summary"
        assert "plan.started" not in school and "self-referral.submitted" not in school  # none: nothing sent
        school_entries = {rec["entry_id"] for rec in readers[SCHOOL].of("disclose")}
        assert not {k for k, v in KINDS.items() if v in ("plan.started", "self-referral.submitted")} & school_entries
        for org, reader in readers.items():
            for key, rec in reader.records:
                assert key == child_id.encode() and rec["child_id"] == child_id and rec["organisation"] == org
            ids = [rec["record_id"] for _k, rec in reader.records]
            assert len(ids) == len(set(ids)), "a disclosure was sent twice"

        # The young person withdraws consent for the school: the school's feed retracts what it may no longer see.
        before = by_kind(readers[SCHOOL].held())
        publisher.publish([withdraw_school()])
        wait_until(
            lambda: readers[SCHOOL].poll(0.2) >= 0 and by_kind(readers[SCHOOL].held()) == {"concern.raised": "summary"},
            20,
            "the school's feed was never narrowed by retractions",
        )
        retracted = {KINDS[r["entry_id"]] for r in readers[SCHOOL].of("retract")}
        assert retracted == set(before) - {"concern.raised"} and {"thrive.agreed", "referral.received"} <= retracted
        assert all(r["content"] is None and r["level"] == "none" for r in readers[SCHOOL].of("retract"))
        assert by_kind(api_levels(hub, child_id, SCHOOL)) == {"concern.raised": "summary"}
        time.sleep(1.0)
        for reader in readers.values():
            reader.poll(0.5)
        assert by_kind(readers[CAMHS].held())["thrive.agreed"] == "full"  # others unaffected

        # Every record on every feed is audited as a disclosure to that organisation, at its level.
        engine = create_engine(database_url)
        with engine.connect() as conn:
            rows = conn.execute(select(audit_log).where(audit_log.c.action == "disclosure")).mappings().all()
        engine.dispose()
        for org, reader in readers.items():
            audited = {(e["id"], e["level"]) for r in rows if r["organisation"] == org for e in r["entries"]}
            sent = {(rec["entry_id"], rec["level"]) for _k, rec in reader.records if rec["op"] != "alert"}
            assert sent <= audited, f"{org}: unaudited disclosures {sent - audited}"
            assert all(r["child_id"] == child_id and r["policy_version"] for r in rows if r["organisation"] == org)
    finally:
        for reader in readers.values():
            reader.close()
