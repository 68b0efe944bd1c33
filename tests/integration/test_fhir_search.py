"""FHIR search as an integration engineer's client uses it (issue 18, item 4), through the real routes:
FastAPI TestClient on the in-process hub (real consent engine, SQLite, identity registry and access log).

Patient by identifier, by family + birthdate and by name; `_include`; unknown parameters refused (400) unless
`Prefer: handling=lenient`; XML refused (406); `_summary=count`; every matched child on the access log; the
same answer to an unrelated viewer for an existing and a non-existent child; a CapabilityStatement that lists
exactly what is accepted. Every returned resource is validated with the fhir.resources R4B models.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import select

from connectors.identifiers import NHS_NUMBER_SYSTEM
from hub.bench.read import project_child
from hub.db.tables import audit_log
from tests.support.events import event
from tests.support.inprocess_hub import InProcessHub
from tests.support.story import GP

pytestmark = pytest.mark.integration
NHS = "9434765870"
OTHER_GP = "A81002"  # the consent covers GP practices, but Castlegate is not in the team: it sees nothing
UNKNOWN = "00000000-0000-4000-8000-000000000000"


SIBLING_NHS = "9434765900"
BORN = "2012-05-14"


def sibling_events() -> list[dict[str, Any]]:
    """Amara's sister Kemi, born on a known date, registered at the same practice."""
    registered = event(
        "person.registered",
        "demographics",
        GP,
        "Person",
        {"registered_gp": GP},
        nhs=SIBLING_NHS,
        org_type="gp-practice",
        basis=("lawful_basis", "direct-care"),
    )
    registered["subject"] |= {"given_name": "Kemi", "birth_date": date.fromisoformat(BORN)}
    return [registered]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHub]:
    running = InProcessHub(tmp_path_factory.mktemp("fhir-search"))
    running.sibling_id = project_child(running.engine, sibling_events())  # type: ignore[attr-defined]
    yield running
    running.engine.dispose()


@pytest.fixture
def client(hub: InProcessHub) -> TestClient:
    return TestClient(hub.app, base_url="http://testserver")


def get(client: TestClient, bearer: str | None, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
    auth = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return client.get(path, params=params, headers=auth | (headers or {}))


def valid_bundle(reply: Any) -> dict[str, Any]:
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/fhir+json")
    bundle: dict[str, Any] = reply.json()
    get_fhir_model_class("Bundle").model_validate(bundle)
    for entry in bundle.get("entry", []):
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    return bundle


def outcome(reply: Any, status: int) -> str:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/fhir+json")
    body = reply.json()
    get_fhir_model_class("OperationOutcome").model_validate(body)
    return str(body["issue"][0]["diagnostics"])


def patient_ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


@pytest.mark.parametrize(
    ("criteria", "who"),
    [
        ({"identifier": f"{NHS_NUMBER_SYSTEM}|{NHS}"}, ["amara"]),
        ({"identifier": f"{NHS_NUMBER_SYSTEM}|943 476 5870"}, ["amara"]),
        ({"family": "Okafor", "birthdate": BORN}, ["kemi"]),
        ({"family": "oka", "birthdate": f"eq{BORN}"}, ["kemi"]),
        ({"name": "amara"}, ["amara"]),
        ({"name": "KEMI"}, ["kemi"]),
        ({"name": "okafor"}, ["amara", "kemi"]),
        ({"name": "Okafor", "birthdate": BORN}, ["kemi"]),
        ({"name": "okafor", "identifier": f"{NHS_NUMBER_SYSTEM}|{SIBLING_NHS}"}, ["kemi"]),
    ],
)
def test_patient_search_finds_the_children(
    hub: InProcessHub, client: TestClient, criteria: dict[str, str], who: list[str]
) -> None:
    ids = {"amara": hub.child_id, "kemi": hub.sibling_id}  # type: ignore[attr-defined]
    bundle = valid_bundle(get(client, hub.gp, "/fhir/Patient", **criteria))
    assert sorted(patient_ids(bundle)) == sorted(ids[w] for w in who) and bundle["total"] == len(who)
    for entry in bundle["entry"]:
        assert entry["resource"]["meta"]["profile"] == ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"]


@pytest.mark.parametrize(
    "criteria",
    [
        {"family": "Okafor", "birthdate": "2012-05-15"},
        {"name": "amara", "birthdate": BORN},
        {"name": "zebedee"},
        {"identifier": f"{NHS_NUMBER_SYSTEM}|9434765919"},
    ],
)
def test_patient_search_matching_nobody_is_an_empty_bundle(
    client: TestClient, hub: InProcessHub, criteria: dict[str, str]
) -> None:
    assert valid_bundle(get(client, hub.gp, "/fhir/Patient", **criteria))["total"] == 0


@pytest.mark.parametrize(
    ("criteria", "says"),
    [
        ({}, "search needs"),
        ({"family": "Okafor"}, "needs birthdate"),
        ({"birthdate": "2012-05-14"}, "search needs"),
        ({"family": "Okafor", "birthdate": "gt2012-05-14"}, "eq prefix"),
        ({"name": "%"}, "letters"),
        ({"identifier": NHS}, "system|value"),
        ({"name": "amara", "gender": "female"}, "'gender' is not supported"),
        ({"name:exact": "Amara"}, "'name:exact' is not supported"),
        ({"name": "amara", "_summary": "true"}, "_summary"),
    ],
)
def test_bad_patient_searches_are_400_operation_outcomes(
    client: TestClient, hub: InProcessHub, criteria: dict[str, str], says: str
) -> None:
    assert says in outcome(get(client, hub.gp, "/fhir/Patient", **criteria), 400)


def test_unknown_parameters_are_400_unless_lenient(client: TestClient, hub: InProcessHub) -> None:
    """`Observation?patient=…&code=x` used to return every Observation: a narrower question, a wider answer."""
    plain = valid_bundle(get(client, hub.gp, "/fhir/Observation", patient=hub.child_id))
    assert plain["total"] > 0
    assert "'code' is not supported" in outcome(
        get(client, hub.gp, "/fhir/Observation", patient=hub.child_id, code="x"), 400
    )
    lenient = get(client, hub.gp, "/fhir/Observation", {"Prefer": "handling=lenient"}, patient=hub.child_id, code="x")
    assert patient_ids(valid_bundle(lenient)) == patient_ids(plain)
    for path, params in (
        (f"/fhir/Patient/{hub.child_id}", {"foo": "1"}),
        (f"/fhir/Patient/{hub.child_id}/$everything", {"_elements": "id"}),
        ("/fhir/metadata", {"mode": "terminology"}),
        ("/fhir/Encounter", {"patient": hub.child_id, "_since": "2026-01-01"}),  # $everything's, not a search's
    ):
        assert get(client, hub.gp, path, **params).status_code == 400, path
        assert get(client, hub.gp, path, {"Prefer": "handling=lenient"}, **params).status_code == 200, path
    strict = get(client, hub.gp, "/fhir/Observation", {"Prefer": "handling=strict"}, patient=hub.child_id, code="x")
    assert strict.status_code == 400


@pytest.mark.parametrize(
    ("headers", "params", "status"),
    [
        ({"Accept": "application/fhir+xml"}, {}, 406),
        ({"Accept": "application/xml, text/xml"}, {}, 406),
        ({}, {"_format": "xml"}, 406),
        ({}, {"_format": "application/fhir+xml"}, 406),
        ({"Accept": "application/fhir+json"}, {"_format": "xml"}, 406),  # _format wins
        ({"Accept": "application/fhir+xml"}, {"_format": "json"}, 200),
        ({"Accept": "application/fhir+xml, application/fhir+json;q=0.5"}, {}, 200),
        ({"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, {}, 200),  # a browser
        ({}, {"_format": "application/fhir+json"}, 200),
        ({"Accept": "application/json"}, {}, 200),
    ],
)
def test_only_json_is_served_and_xml_is_406(
    client: TestClient, hub: InProcessHub, headers: dict[str, str], params: dict[str, str], status: int
) -> None:
    for path, own in (
        ("/fhir/metadata", {}),
        ("/fhir/Patient", {"identifier": f"{NHS_NUMBER_SYSTEM}|{NHS}"}),
        (f"/fhir/Patient/{hub.child_id}", {}),
        (f"/fhir/Patient/{hub.child_id}/$everything", {}),
        ("/fhir/CarePlan", {"patient": hub.child_id}),
    ):
        reply = get(client, hub.gp, path, headers, **own, **params)
        if status == 406:
            assert "JSON" in outcome(reply, 406) or "json" in outcome(reply, 406), path
        else:
            assert reply.status_code == 200, (path, reply.text)


def test_summary_count_gives_the_total_alone(client: TestClient, hub: InProcessHub) -> None:
    for resource_type in ("Observation", "ServiceRequest", "EpisodeOfCare"):
        full = valid_bundle(get(client, hub.gp, f"/fhir/{resource_type}", patient=hub.child_id))
        counted = valid_bundle(get(client, hub.gp, f"/fhir/{resource_type}", patient=hub.child_id, _summary="count"))
        assert counted["total"] == full["total"] > 0 and "entry" not in counted
    counted = valid_bundle(get(client, hub.gp, "/fhir/Patient", name="okafor", _summary="count"))
    assert counted["total"] == 2 and "entry" not in counted


def test_include_adds_the_patient_once_and_does_not_count_it(client: TestClient, hub: InProcessHub) -> None:
    plain = valid_bundle(get(client, hub.gp, "/fhir/ServiceRequest", patient=hub.child_id))
    bundle = valid_bundle(
        get(client, hub.gp, "/fhir/ServiceRequest", patient=hub.child_id, _include="ServiceRequest:patient")
    )
    modes = [(e["search"]["mode"], e["resource"]["resourceType"]) for e in bundle["entry"]]
    assert modes.count(("include", "Patient")) == 1 and bundle["total"] == plain["total"]
    assert [m for m in modes if m[0] == "match"] == [("match", "ServiceRequest")] * plain["total"]
    paged = valid_bundle(
        get(client, hub.gp, "/fhir/ServiceRequest", patient=hub.child_id, _include="ServiceRequest:patient", _count=1)
    )
    nxt = next(link["url"] for link in paged["link"] if link["relation"] == "next")
    assert "_include=ServiceRequest%3Apatient" in nxt and "patient=" in nxt
    second = valid_bundle(client.get(nxt, headers={"Authorization": f"Bearer {hub.gp}"}))
    assert [e["search"]["mode"] for e in second["entry"]] == ["match", "include"]
    for bad in ("Observation:patient", "ServiceRequest:performer", "*"):
        assert "_include" in outcome(
            get(client, hub.gp, "/fhir/ServiceRequest", patient=hub.child_id, _include=bad), 400
        )


def test_a_search_is_audited_with_every_child_it_matched(client: TestClient, hub: InProcessHub) -> None:
    unrelated = hub.token("gp", OTHER_GP)
    for criteria in ({"identifier": f"{NHS_NUMBER_SYSTEM}|{NHS}"}, {"name": "Amara"}):
        reply = valid_bundle(get(client, unrelated, "/fhir/Patient", **criteria))
        assert reply["total"] == 0  # matched, not shown: the same empty answer as for nobody
        with hub.engine.connect() as conn:
            last = conn.execute(
                select(audit_log.c.child_id, audit_log.c.outcome, audit_log.c.query, audit_log.c.organisation)
                .order_by(audit_log.c.seq.desc())
                .limit(1)
            ).one()
        assert last.child_id == hub.child_id and last.outcome == "denied" and last.organisation == OTHER_GP
        assert NHS not in last.query and "Okafor" not in last.query and "2012" not in last.query
    valid_bundle(get(client, hub.gp, "/fhir/Patient", name="amara"))
    with hub.engine.connect() as conn:
        last = conn.execute(
            select(audit_log.c.child_id, audit_log.c.outcome, audit_log.c.entries)
            .order_by(audit_log.c.seq.desc())
            .limit(1)
        ).one()
    assert last.child_id == hub.child_id and last.outcome == "success"
    assert last.entries == [{"id": f"Patient/{hub.child_id}", "level": "full"}]


def test_an_unrelated_viewer_gets_the_same_answer_for_an_existing_and_an_unknown_child(
    client: TestClient, hub: InProcessHub
) -> None:
    unrelated = hub.token("gp", OTHER_GP)
    for path, params in (
        ("/fhir/Patient/{id}", {}),
        ("/fhir/Patient/{id}/$everything", {}),
        ("/fhir/Patient/{id}/$everything", {"_count": "2", "_type": "Observation"}),
        ("/fhir/Observation", {"patient": "{id}"}),
        ("/fhir/Encounter", {"patient": "Patient/{id}", "_summary": "count"}),
        ("/fhir/CareTeam", {"patient": "{id}", "_include": "CareTeam:patient"}),
    ):
        answers = []
        for child in (hub.child_id, UNKNOWN):
            reply = get(client, unrelated, path.format(id=child), **{k: v.format(id=child) for k, v in params.items()})
            answers.append((reply.status_code, reply.json()))
        assert answers[0] == answers[1], path
        assert answers[0][0] == 404
    assert get(client, hub.gp, f"/fhir/Patient/{hub.child_id}").status_code == 200  # the GP in the team does see


def test_the_capability_statement_lists_exactly_what_is_accepted(client: TestClient, hub: InProcessHub) -> None:
    statement = get(client, None, "/fhir/metadata").json()
    get_fhir_model_class("CapabilityStatement").model_validate(statement)
    served = {r["type"]: r for r in statement["rest"][0]["resource"]}
    routes = {path for path, ops in client.get("/openapi.json").json()["paths"].items() if "get" in ops}
    values = {
        "identifier": f"{NHS_NUMBER_SYSTEM}|{NHS}",
        "family": "Okafor",
        "birthdate": "2012-05-14",
        "name": "amara",
        "patient": hub.child_id,
        "_count": "2",
        "_summary": "count",
    }
    for resource_type, spec in served.items():
        codes = {i["code"] for i in spec["interaction"]}
        assert ("read" in codes) == (
            f"/fhir/{resource_type}/{{child_id}}" in routes or f"/fhir/{resource_type}/{{sub_id}}" in routes
        )
        assert ("search-type" in codes) == (f"/fhir/{resource_type}" in routes and resource_type != "Subscription")
        if "search-type" not in codes:
            assert "searchParam" not in spec
            continue
        base = (
            {"patient": hub.child_id} if resource_type != "Patient" else {"family": "Okafor", "birthdate": "2012-05-14"}
        )
        for param in spec["searchParam"]:
            reply = get(
                client, hub.gp, f"/fhir/{resource_type}", **(base | {param["name"]: values.get(param["name"], "x")})
            )
            assert reply.status_code != 400 or param["name"] == "_cursor", (resource_type, param, reply.text)
        for include in spec.get("searchInclude", []):
            assert get(client, hub.gp, f"/fhir/{resource_type}", **base, _include=include).status_code == 200
        listed = {p["name"] for p in spec["searchParam"]}
        for unlisted in {"_id", "_lastUpdated", "subject", "code", "gender", "_sort"} - listed:
            assert get(client, hub.gp, f"/fhir/{resource_type}", **(base | {unlisted: "x"})).status_code == 400, (
                unlisted
            )
    searched = {p.removeprefix("/fhir/") for p in routes if p.startswith("/fhir/") and p.count("/") == 2}
    assert searched - {"metadata", ".well-known"} <= set(served)


def test_the_docs_search_examples_run(client: TestClient, hub: InProcessHub) -> None:
    """docs/fhir.md's curl lines under "Searching", sent as written (the child's id filled in)."""
    text = (Path(__file__).parents[2] / "docs" / "fhir.md").read_text(encoding="utf-8")
    section = text.split("## Searching", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("curl ")]
    assert len(lines) >= 4
    for line in lines:
        url = re.findall(r"'(http://127\.0\.0\.1:8080[^']+)'", line)[0].replace("<id>", hub.child_id)
        headers = dict(h.split(": ", 1) for h in re.findall(r"-H '([^']+)'", line))
        reply = client.get(
            url.removeprefix("http://127.0.0.1:8080"), headers={"Authorization": f"Bearer {hub.gp}"} | headers
        )
        bundle = valid_bundle(reply)
        assert bundle["total"] >= 1, line
