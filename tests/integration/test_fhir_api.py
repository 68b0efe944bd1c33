"""Issue 7: the FHIR R4 read API against a running hub with the cross-agency story on the real broker.

One hub per database backend for the module (starting one costs seconds); each test reads as different
roles. Every served resource is validated with the fhir.resources R4B models.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import create_engine, select

from connectors.identifiers import NHS_NUMBER_SYSTEM
from connectors.publisher import Publisher
from hub.auth.tokens import issue_token, load_or_create_signing_key
from hub.db.tables import audit_log
from hub.events.codec import EventCodec
from hub.kafka.producer import DurableProducer
from tests.conftest import _create_pg_database, _drop_pg_database
from tests.support.events import event
from tests.support.hub_process import RunningHub, start_hub
from tests.support.story import CAMHS, COUNCIL, GP, SCHOOL, VCSE, story

pytestmark = pytest.mark.integration
NHS = "9434765870"
ROLES = {"teacher": SCHOOL, "gp": GP, "camhs-clinician": CAMHS, "social-worker": COUNCIL, "vcse-worker": VCSE}
KINDS = {e["event_id"]: e["kind"] for e in story()}
FHIR_JSON = "application/fhir+json"


def token(
    hub: RunningHub,
    role: str = "gp",
    *,
    org: str | None = None,
    purpose: str = "direct-care",
    scopes: tuple[str, ...] = ("user/*.read",),
    patient: str | None = None,
) -> str:
    key = load_or_create_signing_key(hub.data_dir)
    return issue_token(
        key,
        user=f"u-{role}",
        organisation=org or ROLES.get(role, GP),
        role=role,
        purpose=purpose,
        now=datetime.now(UTC),
        ttl=timedelta(hours=1),
        scopes=scopes,
        patient=patient,
    )


def get(hub: RunningHub, path: str, bearer: str | None, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return httpx.get(hub.api + path, params=params, headers=headers, timeout=15)


def publish_story(hub: RunningHub, events: list[dict[str, Any]] | None = None, within: float = 30) -> str:
    """Publish the story on the real broker and wait until the GP sees all of it; returns the child id."""
    events = events or story()
    publisher = Publisher(DurableProducer(hub.kafka), EventCodec.load())
    publisher.publish(events)
    gp = token(hub, "gp")
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        bundle = get(hub, "/fhir/Patient", gp, identifier=f"{NHS_NUMBER_SYSTEM}|{NHS}").json()
        if bundle.get("total"):
            child_id = str(bundle["entry"][0]["resource"]["id"])
            timeline = get(hub, f"/api/children/{child_id}/timeline", gp).json()
            if len(timeline["entries"]) >= len(events) - 1:  # the consent event is not a timeline entry for all
                return child_id
        time.sleep(0.2)
    raise AssertionError("the story never became visible")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def story_hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningHub, str, str]]:
    tmp: Path = tmp_path_factory.mktemp(f"fhir-{request.param}")
    pg = _create_pg_database() if request.param == "postgresql" else None
    url = f"postgresql+psycopg://root@127.0.0.1:5432/{pg}" if pg else f"sqlite:///{tmp / 'onestory.db'}"
    hub = start_hub(tmp / "var", url)
    try:
        yield hub, publish_story(hub), url
    finally:
        if hub.process.poll() is None:
            hub.stop()
        if pg:
            _drop_pg_database(pg)


def everything(hub: RunningHub, child_id: str, bearer: str, **params: Any) -> tuple[list[dict[str, Any]], list[int]]:
    """Follow `next` links to the end; returns the resources and the `total` each page reported."""
    reply = get(hub, f"/fhir/Patient/{child_id}/$everything", bearer, **params)
    resources: list[dict[str, Any]] = []
    totals: list[int] = []
    while True:
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"].startswith(FHIR_JSON)
        bundle = reply.json()
        Bundle.model_validate(bundle)
        totals.append(bundle["total"])
        resources += [e["resource"] for e in bundle.get("entry", [])]
        nxt = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not nxt:
            return resources, totals
        reply = httpx.get(nxt[0], headers={"Authorization": f"Bearer {bearer}"}, timeout=15)


def timeline_levels(hub: RunningHub, child_id: str, role: str) -> dict[str, str]:
    entries = get(hub, f"/api/children/{child_id}/timeline", token(hub, role)).json()["entries"]
    return {e["id"]: e["level"] for e in entries}


def test_each_role_gets_exactly_what_the_policy_allows(story_hub: tuple[RunningHub, str, str]) -> None:
    hub, child_id, _ = story_hub
    for role in ROLES:
        levels = timeline_levels(hub, child_id, role)
        resources, totals = everything(hub, child_id, token(hub, role), _count=3)
        for r in resources:
            get_fhir_model_class(r["resourceType"]).model_validate(r)
            assert r["meta"]["source"] and r["meta"]["security"][0]["code"] in ("N", "R", "V")
        entry_resources = {r["id"]: r for r in resources if r["id"] in KINDS}
        assert set(entry_resources) == set(levels), role  # hidden entries never appear
        for entry_id, level in levels.items():
            r = entry_resources[entry_id]
            assert r["meta"]["tag"][0]["code"] == level
            assert (r["resourceType"] == "Flag") == (level == "flag")
        assert set(totals) == {len(resources)}, role  # totals count only what is served, on every page
        assert len(resources) == len({(r["resourceType"], r["id"]) for r in resources})
    teacher = {
        KINDS[i]: r
        for i, r in ((r["id"], r) for r in everything(hub, child_id, token(hub, "teacher"))[0])
        if i in KINDS
    }
    assert "plan.started" not in teacher and "self-referral.submitted" not in teacher
    concern = teacher["concern.raised"]
    assert concern["resourceType"] == "Condition" and "note" not in concern  # summary: no detail
    gp = {KINDS[r["id"]]: r for r in everything(hub, child_id, token(hub, "gp"))[0] if r["id"] in KINDS}
    assessment = gp["assessment.completed"]
    assert assessment["resourceType"] == "Observation" and assessment["valueString"] == "62"
    assert {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"} in assessment["meta"][
        "security"
    ]


def test_searches_by_patient_and_patient_read(story_hub: tuple[RunningHub, str, str]) -> None:
    hub, child_id, _ = story_hub
    gp = token(hub, "gp")
    patient = get(hub, f"/fhir/Patient/{child_id}", gp)
    assert patient.status_code == 200 and patient.json()["identifier"][0]["value"] == NHS
    get_fhir_model_class("Patient").model_validate(patient.json())
    all_resources, _ = everything(hub, child_id, gp)
    by_type: dict[str, set[str]] = {}
    for r in all_resources:
        by_type.setdefault(r["resourceType"], set()).add(r["id"])
    for resource_type in (
        "Encounter",
        "EpisodeOfCare",
        "ServiceRequest",
        "CarePlan",
        "Condition",
        "Flag",
        "Observation",
        "Communication",
        "CareTeam",
    ):
        reply = get(hub, f"/fhir/{resource_type}", gp, patient=child_id, _count=2)
        assert reply.status_code == 200, (resource_type, reply.text)
        bundle = reply.json()
        Bundle.model_validate(bundle)
        assert bundle["total"] == len(by_type.get(resource_type, set())), resource_type
        assert all(e["resource"]["resourceType"] == resource_type for e in bundle.get("entry", []))
    assert by_type["CareTeam"] and by_type["EpisodeOfCare"] and by_type["ServiceRequest"]
    only = everything(hub, child_id, gp, _type="CarePlan,Observation")[0]
    assert {r["resourceType"] for r in only} == {"CarePlan", "Observation"}
    late = everything(hub, child_id, gp, _since="2026-09-20T00:00:00Z")[0]
    assert {KINDS[r["id"]] for r in late if r["id"] in KINDS} == {
        "plan.started",
        "vcse.session",
        "voice.recorded",
        "plan.ended",
    }


def test_paging_loses_and_duplicates_nothing_when_entries_arrive(story_hub: tuple[RunningHub, str, str]) -> None:
    hub, child_id, _ = story_hub
    gp = token(hub, "gp")
    before = {r["id"] for r in everything(hub, child_id, gp)[0]}
    first = get(hub, f"/fhir/Patient/{child_id}/$everything", gp, _count=4).json()
    seen = [e["resource"]["id"] for e in first["entry"]]
    new = [
        event(
            "encounter.attended",
            "encounter",
            GP,
            "Encounter",
            {"encounter_id": f"E{n}"},
            day=day,
            org_type="gp-practice",
            basis=("lawful_basis", "direct-care"),
            n=n,
            child_id=child_id,
        )
        for n, day in ((1, 0.5), (2, 60))
    ]  # one lands before the cursor, one after it
    Publisher(DurableProducer(hub.kafka), EventCodec.load()).publish(new)
    deadline = time.monotonic() + 20
    while not {e["event_id"] for e in new} <= set(timeline_levels(hub, child_id, "gp")):
        assert time.monotonic() < deadline, "new entries never arrived"
        time.sleep(0.2)
    nxt = next(link["url"] for link in first["link"] if link["relation"] == "next")
    while nxt:
        bundle = httpx.get(nxt, headers={"Authorization": f"Bearer {gp}"}, timeout=15).json()
        seen += [e["resource"]["id"] for e in bundle.get("entry", [])]
        nxt = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    assert len(seen) == len(set(seen)), "a resource was served twice"
    assert before <= set(seen), "a resource that existed when paging started was lost"
    assert new[1]["event_id"] in seen  # arrived after the cursor: served


def test_errors_are_operation_outcomes_with_401_403_404(story_hub: tuple[RunningHub, str, str]) -> None:
    hub, child_id, url = story_hub
    meta = get(hub, "/fhir/metadata", None)
    assert meta.status_code == 200 and meta.json()["resourceType"] == "CapabilityStatement"
    get_fhir_model_class("CapabilityStatement").model_validate(meta.json())
    cases = [
        (None, f"/fhir/Patient/{child_id}/$everything", {}, 401),
        ("garbage", f"/fhir/Patient/{child_id}", {}, 401),
        (token(hub, "gp", scopes=("patient/*.read",), patient="someone-else"), f"/fhir/Patient/{child_id}", {}, 403),
        (token(hub, "gp", scopes=("launch",)), f"/fhir/Patient/{child_id}/$everything", {}, 403),
        (token(hub, "ig-officer", org="ONESTORY", purpose="audit"), "/fhir/Observation", {"patient": child_id}, 403),
        (token(hub, "gp", scopes=("user/Flag.read",)), "/fhir/Observation", {"patient": child_id}, 403),
        (token(hub, "gp"), "/fhir/Patient/no-such-child/$everything", {}, 404),
        (token(hub, "gp"), f"/fhir/Patient/{child_id}/$everything", {"_cursor": "bm90LWEtY3Vyc29y"}, 400),
        (token(hub, "gp"), f"/fhir/Patient/{child_id}/$everything", {"_type": "Bogus"}, 400),
        (token(hub, "gp"), "/fhir/Observation", {}, 400),
    ]
    for bearer, path, params, status in cases:
        reply = get(hub, path, bearer, **params)
        assert reply.status_code == status, (path, params, reply.text)
        assert reply.headers["content-type"].startswith(FHIR_JSON)
        assert reply.json()["resourceType"] == "OperationOutcome"
        if status == 401:
            assert reply.headers["www-authenticate"].startswith("Bearer")
    mine = token(hub, "gp", scopes=("patient/*.read",), patient=child_id)
    assert get(hub, f"/fhir/Patient/{child_id}/$everything", mine).status_code == 200
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                audit_log.c.action, audit_log.c.outcome, audit_log.c.query, audit_log.c.entries, audit_log.c.child_id
            )
        ).all()
    engine.dispose()
    reads = [r for r in rows if r.query == "Patient/{id}/$everything" and r.outcome == "success"]
    assert reads and all(e["level"] in ("full", "summary", "flag") for r in reads for e in r.entries)
    assert any(r.action == "deny" and r.outcome == "denied" and r.child_id == child_id for r in rows)
