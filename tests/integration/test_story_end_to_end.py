"""Issue 6 end to end: one child's story across agencies through the real broker, worker, SQL and HTTP API.

Events enter on onestory.intake.v1 exactly as connectors publish them (no child id yet); identity resolution,
the projector and the API do the rest. Runs on SQLite and on the local PostgreSQL.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine

from connectors.identifiers import NHS_NUMBER_SYSTEM
from connectors.publisher import Publisher
from hub.events.codec import EventCodec
from hub.kafka.producer import DurableProducer
from projections.rebuild import content_digest
from tests.support.hub_process import RunningHub
from tests.support.story import CAMHS, COUNCIL, GP, SCHOOL, VCSE, story, withdraw_school

pytestmark = pytest.mark.integration
NHS = "9434765870"
ROLES = {"teacher": SCHOOL, "gp": GP, "camhs-clinician": CAMHS, "social-worker": COUNCIL, "vcse-worker": VCSE}
KINDS = {e["event_id"]: e["kind"] for e in [*story(), withdraw_school()]}


def _timeline(hub: RunningHub, child_id: str, role: str) -> dict[str, Any]:
    token = hub.token(user=f"u-{role}", org=ROLES[role], role=role)
    reply = httpx.get(
        f"{hub.api}/api/children/{child_id}/timeline", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    reply.raise_for_status()
    body: dict[str, Any] = reply.json()
    return body


def _levels(hub: RunningHub, child_id: str, role: str) -> dict[str, str]:
    return {KINDS[e["id"]]: e["level"] for e in _timeline(hub, child_id, role)["entries"]}


def _child_id(hub: RunningHub, within: float = 15) -> str:
    token = hub.token(org=GP, role="gp")
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        bundle = httpx.get(
            f"{hub.api}/fhir/Patient",
            params={"identifier": f"{NHS_NUMBER_SYSTEM}|{NHS}"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()
        if bundle.get("total"):
            return str(bundle["entry"][0]["resource"]["id"])
        time.sleep(0.1)
    raise AssertionError("the child never appeared")


def test_the_story_of_one_child_across_agencies(running_hub: RunningHub, database_url: str) -> None:
    hub = running_hub
    events = story()
    publisher = Publisher(DurableProducer(hub.kafka), EventCodec.load())
    publisher.publish(events)
    child_id = _child_id(hub)
    deadline = time.monotonic() + 15
    while len(_levels(hub, child_id, "gp")) < 10 and time.monotonic() < deadline:
        time.sleep(0.1)

    teacher = _levels(hub, child_id, "teacher")
    assert teacher["concern.raised"] == "summary" and teacher["thrive.agreed"] == "summary"
    assert "plan.started" not in teacher and "self-referral.submitted" not in teacher
    gp = _levels(hub, child_id, "gp")
    assert gp["assessment.completed"] == "full" and gp["plan.started"] == "summary"
    social = _levels(hub, child_id, "social-worker")
    assert social["plan.started"] == "full" and social["thrive.agreed"] == "summary"
    vcse = _levels(hub, child_id, "vcse-worker")
    assert vcse["vcse.session"] == "full" and vcse.get("assessment.completed", "none") in ("none", "flag")
    camhs = _levels(hub, child_id, "camhs-clinician")
    assert camhs["assessment.completed"] == "full" and "concern.raised" not in camhs

    token = hub.token(org=GP, role="gp")
    now = httpx.get(
        f"{hub.api}/api/children/{child_id}/summary", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).json()
    assert now["thrive"]["grouping"] == "Getting Help" and now["episodes"][0]["status"] == "ended"

    # The young person withdraws consent for the school: the teacher's view narrows within a second.
    publisher.publish([withdraw_school()])
    t0 = time.monotonic()
    while _levels(hub, child_id, "teacher") != {"concern.raised": "summary"}:
        assert time.monotonic() - t0 < 1.0, "withdrawal not visible within one second"
        time.sleep(0.02)
    delay = time.monotonic() - t0
    print(f"consent withdrawal -> teacher view narrowed in {delay * 1000:.0f} ms")
    time.sleep(1.0)  # let the projector apply it (the view was already closed by the pending marker)
    assert _timeline(hub, child_id, "teacher")["updating"] is False
    assert _levels(hub, child_id, "gp")["thrive.agreed"] == "full"

    # A rebuild beside the live tables gives identical projections.
    engine = create_engine(database_url)
    with engine.connect() as conn:
        before = content_digest(conn)
    done = subprocess.run(
        [sys.executable, "-m", "hub", "rebuild", "--database", database_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "switched to the new tables" in done.stdout
    with engine.connect() as conn:
        assert content_digest(conn) == before
    engine.dispose()
    assert _levels(hub, child_id, "teacher") == {"concern.raised": "summary"}
