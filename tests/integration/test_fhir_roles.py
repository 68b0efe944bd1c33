"""Issue 7: what each practitioner gets of the cross-agency story through the FHIR API, entry by entry.

The table is the default policy's answer for this story (consent given by the competent young person to
schools, CAMHS, GP, council and VCSE for direct care; the plan is the council's; the self-referral the
young person's own). It is written out, not recomputed, so a change in the policy, the engine or the API
that alters what anyone sees fails here and has to be looked at. Entries not listed are not served at all:
not as a resource, not in totals. In process on SQLite; test_fhir_api.py covers both backends over the
real broker.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from hub.db.tables import audit_log
from hub.fhir.capability import SEARCH_TYPES
from tests.support.inprocess_hub import InProcessHub
from tests.support.story import CAMHS, COUNCIL, GP, SCHOOL, VCSE, story

pytestmark = pytest.mark.integration
KINDS = {e["event_id"]: e["kind"] for e in story()}
ORGS = {"teacher": SCHOOL, "gp": GP, "camhs-clinician": CAMHS, "social-worker": COUNCIL, "vcse-worker": VCSE}
FLAG = ("flag", "Flag")
EXPECTED: dict[str, dict[str, tuple[str, str]]] = {
    "teacher": {  # pastoral and THRIVE in summary; the CAMHS journey only as "involved, contact …"
        "concern.raised": ("summary", "Condition"),
        "thrive.agreed": ("summary", "Observation"),
        "voice.recorded": ("summary", "Communication"),
        "referral.received": FLAG,
        "referral.accepted": FLAG,
        "plan.ended": FLAG,
        "vcse.session": FLAG,
    },
    "gp": {
        "person.registered": ("full", "EpisodeOfCare"),  # a registration, not an observation
        "concern.raised": ("summary", "Condition"),
        "self-referral.submitted": ("full", "ServiceRequest"),
        "referral.received": ("full", "ServiceRequest"),
        "referral.accepted": ("full", "ServiceRequest"),
        "assessment.completed": ("full", "Observation"),
        "thrive.agreed": ("full", "Observation"),
        "plan.started": ("summary", "CarePlan"),
        "plan.ended": ("full", "CarePlan"),
        "vcse.session": ("summary", "Encounter"),
        "voice.recorded": ("full", "Communication"),
    },
    "camhs-clinician": {  # its own records in full; nothing of the school's concern or the GP registration
        "consent.given": ("full", "Consent"),
        "self-referral.submitted": ("full", "ServiceRequest"),
        "referral.received": ("full", "ServiceRequest"),
        "referral.accepted": ("full", "ServiceRequest"),
        "assessment.completed": ("full", "Observation"),
        "thrive.agreed": ("full", "Observation"),
        "plan.ended": ("full", "CarePlan"),
        "voice.recorded": ("full", "Communication"),
    },
    "social-worker": {
        "concern.raised": ("summary", "Condition"),
        "self-referral.submitted": ("summary", "ServiceRequest"),
        "referral.received": ("full", "ServiceRequest"),
        "referral.accepted": ("full", "ServiceRequest"),
        "assessment.completed": ("full", "Observation"),
        "thrive.agreed": ("summary", "Observation"),
        "plan.started": ("full", "CarePlan"),
        "plan.ended": ("summary", "CarePlan"),
        "vcse.session": ("summary", "Encounter"),
        "voice.recorded": ("full", "Communication"),
    },
    "vcse-worker": {  # no assessment, not even a flag
        "concern.raised": FLAG,
        "self-referral.submitted": ("full", "ServiceRequest"),
        "referral.received": ("summary", "ServiceRequest"),
        "referral.accepted": ("summary", "ServiceRequest"),
        "thrive.agreed": ("summary", "Observation"),
        "plan.ended": FLAG,
        "vcse.session": ("full", "Encounter"),
        "voice.recorded": ("full", "Communication"),
    },
}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHub]:
    running = InProcessHub(tmp_path_factory.mktemp("fhir-roles"))
    yield running
    running.engine.dispose()


def _everything(client: TestClient, child_id: str, bearer: str) -> tuple[list[dict[str, Any]], set[int]]:
    url = f"/fhir/Patient/{child_id}/$everything?_count=4"
    resources: list[dict[str, Any]] = []
    totals: set[int] = set()
    while url:
        reply = client.get(url, headers={"Authorization": f"Bearer {bearer}"})
        assert reply.status_code == 200, reply.text
        bundle = reply.json()
        Bundle.model_validate(bundle)
        totals.add(bundle["total"])
        resources += [e["resource"] for e in bundle.get("entry", [])]
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), "")
    return resources, totals


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_gets_exactly_what_the_policy_allows(hub: InProcessHub, role: str) -> None:
    client = TestClient(hub.app, base_url="http://testserver")
    bearer = hub.token(role, ORGS[role])
    resources, totals = _everything(client, hub.child_id, bearer)
    for r in resources:
        get_fhir_model_class(r["resourceType"]).model_validate(r)
        assert r["meta"]["profile"][0].startswith("https://fhir.hl7.org.uk/StructureDefinition/UKCore-"), r["id"]
        assert "NamingSystem/organisation-code" not in json.dumps(r)  # organisations by ODS, URN, LA code
    got = {KINDS[r["id"]]: (r["meta"]["tag"][0]["code"], r["resourceType"]) for r in resources if r["id"] in KINDS}
    assert got == EXPECTED[role]
    assert totals == {len(resources)}  # hidden entries change no total on any page
    assert {r["resourceType"] for r in resources if r["id"] not in KINDS} == {"Patient", "CareTeam", "EpisodeOfCare"}
    for r in resources:
        if r["resourceType"] == "Flag" and r["id"] in KINDS:
            assert "note" not in r and r["meta"]["security"][0]["code"] in ("N", "R", "V")
        if r["id"] in KINDS and r["meta"]["tag"][0]["code"] == "summary":
            assert "note" not in r and "valueString" not in r  # a summary carries no detail
    timeline = client.get(f"/api/children/{hub.child_id}/timeline", headers={"Authorization": f"Bearer {bearer}"})
    assert {KINDS[e["id"]]: e["level"] for e in timeline.json()["entries"]} == {
        k: level for k, (level, _) in EXPECTED[role].items()
    }
    with hub.engine.connect() as conn:
        last = conn.execute(
            select(audit_log.c.role, audit_log.c.query, audit_log.c.entries)
            .where(audit_log.c.role == role, audit_log.c.query == "Patient/{id}/$everything")
            .order_by(audit_log.c.seq.desc())
        ).first()
    assert last is not None and all(e["level"] in ("full", "summary", "flag") for e in last.entries)


def test_per_type_search_serves_the_same_levels(hub: InProcessHub) -> None:
    client = TestClient(hub.app, base_url="http://testserver")
    for role, expected in EXPECTED.items():
        bearer = hub.token(role, ORGS[role])
        for resource_type in sorted({t for _, t in expected.values()} & set(SEARCH_TYPES)):
            reply = client.get(
                f"/fhir/{resource_type}",
                params={"patient": hub.child_id},
                headers={"Authorization": f"Bearer {bearer}"},
            )
            assert reply.status_code == 200, (role, resource_type, reply.text)
            served = {KINDS[e["resource"]["id"]] for e in reply.json().get("entry", []) if e["resource"]["id"] in KINDS}
            assert served == {k for k, (_, t) in expected.items() if t == resource_type}, (role, resource_type)
