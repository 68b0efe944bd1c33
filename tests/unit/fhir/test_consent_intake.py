"""FHIR Consent shapes, competence Observations, stated lawful bases and value sets at FHIR intake. Pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.fhir.map import map_request
from connectors.identifiers import NHS_NUMBER_SYSTEM
from hub.events.codec import EventCodec

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
HUB = "https://onestory.nhs.example"
ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
URN = "https://fhir.hl7.org.uk/Id/urn-school-number"
PATIENT = {"identifier": {"system": NHS_NUMBER_SYSTEM, "value": "9434765870"}}
CODEC = EventCodec.load()


def consent(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resourceType": "Consent",
        "id": "c1",
        "status": "active",
        "scope": {"coding": [{"code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": PATIENT,
        "performer": [{"reference": "Patient/p1"}],
        "dateTime": "2026-11-01",
        "provision": {
            "type": "permit",
            "actor": [
                {
                    "role": {"coding": [{"system": PARTICIPATION, "code": "IRCP"}]},
                    "reference": {"identifier": {"system": ODS, "value": "RX4"}},
                },
                {  # R4 requires a reference: an organisation-type role names any organisation of that type
                    "role": {"coding": [{"system": f"{HUB}/CodeSystem/organisation-type", "code": "school"}]},
                    "reference": {"display": "the young person's school"},
                },
                {
                    "role": {"coding": [{"system": PARTICIPATION, "code": "IRCP"}]},
                    "reference": {"identifier": {"system": URN, "value": "100001"}},
                },
            ],
            "purpose": [{"system": ACT_REASON, "code": "TREAT"}],
            "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "Encounter"}],
            "code": [{"coding": [{"system": f"{HUB}/CodeSystem/category", "code": "attendance"}]}],
        },
    }
    base.update(changes)
    return base


def run(resource: dict[str, Any], org: str = "RX4") -> list[dict[str, Any]]:
    batch = map_request(json.dumps(resource).encode(), org, NOW)
    assert not batch.errors, batch.errors
    for event in batch.events:
        CODEC.encode(dict(event))  # every event must fit its Avro schema
    return list(batch.events)


def error_of(resource: dict[str, Any]) -> tuple[str, str]:
    batch = map_request(json.dumps(resource).encode(), "RX4", NOW)
    assert batch.errors and not batch.events
    return batch.errors[0].location, batch.errors[0].reason


def test_patient_consent_is_the_young_persons_and_the_loinc_category_is_not_a_scope() -> None:
    (event,) = run(consent())
    payload = event["payload"][1]
    assert (event["kind"], event["category"]) == ("consent.given", "consent")
    assert payload["given_by"] == "young-person"
    assert payload["recipient_organisations"] == ["100001", "RX4"]
    assert payload["recipient_organisation_types"] == ["school"]
    assert payload["purposes"] == ["direct-care"]
    assert payload["categories"] == ["attendance", "encounter"]  # no 59284-0
    assert payload["withdraws"] is None
    assert event["sharing_basis"] == {"kind": "consent", "reference": "c1", "decided_by": None, "reason": None}


def test_related_person_with_parental_responsibility() -> None:
    mum = {"resourceType": "RelatedPerson", "id": "mum", "patient": {"reference": "Patient/p1"}}
    ok = consent(
        contained=[{**mum, "relationship": [{"coding": [{"system": ROLE, "code": "MTH"}]}]}],
        performer=[{"reference": "#mum"}],
    )
    assert run(ok)[0]["payload"][1]["given_by"] == "parental-responsibility"
    aunt = consent(
        contained=[{**mum, "relationship": [{"coding": [{"system": ROLE, "code": "AUNT"}]}]}],
        performer=[{"reference": "#mum"}],
    )
    assert error_of(aunt)[0] == "Consent.performer[0].reference"
    assert error_of(consent(performer=[{"reference": "RelatedPerson/unknown"}]))[0] == "Consent.performer[0].reference"


def test_practitioner_recording_for_the_young_person_uses_the_given_by_extension() -> None:
    by_practitioner = consent(performer=[{"reference": "Practitioner/dr1"}])
    assert error_of(by_practitioner)[0] == "Consent.performer"
    by_practitioner["extension"] = [{"url": f"{HUB}/StructureDefinition/consent-given-by", "valueCode": "young-person"}]
    assert run(by_practitioner)[0]["payload"][1]["given_by"] == "young-person"


def test_deny_is_a_refusal_and_inactive_a_withdrawal() -> None:
    refused = consent()
    refused["provision"] = {**refused["provision"], "type": "deny"}
    assert run(refused)[0]["kind"] == "consent.refused"
    (withdrawn,) = run(consent(status="inactive"))
    assert withdrawn["kind"] == "consent.withdrawn"
    assert withdrawn["payload"][1]["consent_id"] == "c1"  # the same record, now withdrawn


def test_a_draft_is_noted_not_mapped() -> None:
    batch = map_request(json.dumps(consent(status="draft")).encode(), "RX4", NOW)
    assert not batch.events
    assert ("Consent", "a Consent with status draft is not in force") in [(i.location, i.reason) for i in batch.issues]


def test_a_replacing_consent_withdraws_the_one_it_replaces() -> None:
    new = consent(
        id="c2",
        extension=[{"url": f"{HUB}/StructureDefinition/replaces", "valueReference": {"reference": "Consent/c1"}}],
    )
    ended, given = run(new)
    assert ended["kind"] == "consent.withdrawn"
    assert ended["payload"][1]["withdraws"] == "c1"
    assert ended["payload"][1]["categories"] == [] and ended["payload"][1]["recipient_organisations"] == []
    assert given["kind"] == "consent.given" and given["payload"][1]["consent_id"] == "c2"
    assert ended["event_id"] != given["event_id"]
    by_source = consent(id="c3", sourceReference={"reference": "Consent/c1"})
    assert run(by_source)[0]["payload"][1]["withdraws"] == "c1"


@pytest.mark.parametrize(
    ("change", "location"),
    [
        ({"purpose": [{"system": ACT_REASON, "code": "HMARKT"}]}, "Consent.provision.purpose[0]"),
        ({"class": [{"system": "http://hl7.org/fhir/resource-types", "code": "Basic"}]}, "Consent.provision.class[0]"),
        ({"actor": []}, "Consent.provision.actor"),
        ({"purpose": []}, "Consent.provision.purpose"),
        ({"class": [], "code": []}, "Consent.provision.class"),
    ],
)
def test_a_given_consent_the_hub_cannot_place_is_refused_with_its_path(change: dict[str, Any], location: str) -> None:
    bad = consent()
    bad["provision"] = {**bad["provision"], **change}
    assert error_of(bad)[0] == location


def test_provision_code_in_a_sealed_value_set_names_that_category() -> None:
    sealed = consent()
    sealed["provision"] = {
        **sealed["provision"],
        "class": [],
        "code": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "Z30.0"}]}],
    }
    assert run(sealed)[0]["payload"][1]["categories"] == ["sexual-health"]


def competence(**changes: Any) -> dict[str, Any]:
    cs = f"{HUB}/CodeSystem/competence"
    base: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "g1",
        "status": "final",
        "code": {"coding": [{"system": cs, "code": "assessment"}]},
        "subject": PATIENT,
        "effectiveDateTime": "2026-11-20T10:00:00Z",
        "performer": [{"reference": "#role"}],
        "contained": [
            {
                "resourceType": "PractitionerRole",
                "id": "role",
                "practitioner": {"reference": "Practitioner/dr-ahmed"},
                "code": [{"coding": [{"code": "camhs-clinician", "display": "CAMHS clinician"}]}],
            }
        ],
        "valueCodeableConcept": {"coding": [{"system": cs, "code": "competent"}]},
        "component": [
            {"code": {"coding": [{"system": cs, "code": "framework"}]}, "valueString": "gillick"},
            {"code": {"coding": [{"system": cs, "code": "decision"}]}, "valueString": "information sharing"},
            {"code": {"coding": [{"system": cs, "code": "category"}]}, "valueString": "mental-health"},
        ],
    }
    base.update(changes)
    return base


def test_competence_observation_is_a_competence_assessed_event() -> None:
    (event,) = run(competence())
    assert (event["kind"], event["category"]) == ("competence.assessed", "consent")
    assert event["payload"] == (
        "onestory.payload.Competence",
        {
            "assessment_id": "g1",
            "outcome": "competent",
            "decision": "information-sharing",
            "categories": ["mental-health"],
            "assessed_by": "CAMHS clinician: Practitioner/dr-ahmed",
            "assessed_at": datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
            "framework": "gillick",
        },
    )
    bad = competence(valueCodeableConcept={"coding": [{"system": f"{HUB}/CodeSystem/competence", "code": "maybe"}]})
    assert error_of(bad)[0] == "Observation.valueCodeableConcept"
    assert error_of(competence(performer=[]))[0] == "Observation.performer"


def condition(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resourceType": "Condition",
        "id": "d1",
        "subject": PATIENT,
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "F32.1"}]},
        "recordedDate": "2026-11-01",
    }
    base.update(changes)
    return base


def test_icd10_f32_condition_is_labelled_psy_and_mental_health() -> None:
    (event,) = run(condition(meta={"security": [{"code": "R"}]}))
    assert event["sensitivity_labels"] == ["PSY", "R"]
    assert event["category"] == "mental-health"
    assert event["sharing_basis"]["reference"] == "direct-care"


def test_encounter_reason_code_in_a_sealed_set_seals_the_encounter() -> None:
    encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "in-progress",
        "class": {"code": "AMB"},
        "subject": PATIENT,
        "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "A56.0"}]}],
    }
    (event,) = run(encounter)
    assert (event["kind"], event["category"]) == ("encounter.started", "sexual-health")


BASIS_URL = f"{HUB}/StructureDefinition/lawful-basis"


def basis_extension(*parts: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"url": BASIS_URL, "extension": [{"url": k, "valueString": v} for k, v in parts]}]


def test_a_stated_safeguarding_basis_with_who_and_why() -> None:
    stated = condition(
        extension=basis_extension(("code", "safeguarding"), ("decidedBy", "Dr Ahmed, named doctor"), ("reason", "s47"))
    )
    (event,) = run(stated)
    assert event["sharing_basis"] == {
        "kind": "lawful_basis",
        "reference": "safeguarding",
        "decided_by": "Dr Ahmed, named doctor",
        "reason": "s47",
    }


def test_an_incomplete_safeguarding_basis_is_refused_naming_the_fhir_path() -> None:
    location, reason = error_of(condition(extension=basis_extension(("code", "safeguarding"), ("reason", "s47"))))
    assert location == f"Condition.extension('{BASIS_URL}').extension('decidedBy')"
    assert "decided" in reason
    by_security = condition(meta={"security": [{"system": f"{HUB}/CodeSystem/lawful-basis", "code": "safeguarding"}]})
    assert error_of(by_security)[0].startswith(f"Condition.extension('{BASIS_URL}')")
    unknown = condition(extension=basis_extension(("code", "because")))
    assert error_of(unknown)[0] == f"Condition.extension('{BASIS_URL}').extension('code')"
