"""Every FHIR sample is accepted or precisely rejected (with the element path); pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.errors import ConnectorError, MappingError, ParseError
from connectors.fhir.map import THRIVE_SYSTEM, map_request
from connectors.fhir.parse import InvalidResource
from connectors.identifiers import NHS_NUMBER_SYSTEM
from tests.conftest import SAMPLES as LOCAL_SAMPLES
from tests.conftest import SHARED_SAMPLES

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def fhir_samples() -> list[Path]:
    found = {p.name: p for p in sorted((LOCAL_SAMPLES / "fhir").glob("*.json"))}
    if (SHARED_SAMPLES / "fhir").is_dir():
        found.update({p.name: p for p in sorted((SHARED_SAMPLES / "fhir").glob("*.json")) if p.name not in found})
    return list(found.values())


# file → (HTTP status the route answers, kinds accepted, or the first failing element path)
EXPECTED: dict[str, tuple[int, object]] = {
    "bars_Bundle_message_referral_ValidationRequest.json": (422, "Bundle.entry[1].resource.subject.identifier"),
    "bars_ServiceRequest_referral.json": (400, "ServiceRequest.basedOn"),
    "fhirtestcases_Bundle_transaction_caredove_referral_INVALID.json": (400, "Bundle.entry[0].resource.performer"),
    # a lab report (DiagnosticReport and its 17 results) is out of scope for the story (issue 18 item 5)
    "hl7r4_Bundle_collection_101_CBC.json": (422, "Bundle.entry[0].resource.resourceType"),
    "hl7r4_Communication_example.json": (200, ["communication.sent"]),
    "hl7r4_Condition_example.json": (200, ["assessment.completed"]),
    # a consent given that names no recipient would open nothing: refused so the sender knows (issue 15)
    "hl7r4_Consent_example-basic.json": (422, "Consent.provision.actor"),
    "hl7r4_Encounter_example.json": (200, ["encounter.started"]),
    "hl7r4_EpisodeOfCare_example.json": (200, ["plan.started"]),
    "hl7r4_Flag_example.json": (200, ["concern.raised"]),
    "hl7r4_Observation_example.json": (200, ["assessment.completed"]),
    "hl7r4_QuestionnaireResponse_bluebook.json": (200, ["assessment.completed"]),
    "nwgmsa_Bundle_message_genomic_order_fetal.json": (400, "Bundle.entry[9].resource.subject.identifier.root"),
    "pds_Bundle_searchset_RelatedPerson.json": (422, "Bundle.type"),
    "pds_Patient_9000000009.json": (200, ["person.registered"]),
    "pds_Patient_9000000025_restricted.json": (200, ["person.registered"]),
    "uscore_CarePlan_ulcer_example.json": (200, ["plan.started"]),
}


def outcome(body: bytes) -> tuple[int, object]:
    """The same decision the route makes: 400 invalid R4, 422 unmappable, else the accepted kinds."""
    try:
        batch = map_request(body, "RX1", NOW)
    except ParseError as exc:
        if isinstance(exc, InvalidResource):
            return 400, [loc for loc, _ in exc.issues]
        return 400, [exc.location]
    except MappingError as exc:
        return 422, [exc.location]
    if batch.errors:
        return 422, [i.location for i in batch.errors]
    return 200, [e["kind"] for e in batch.events]


@pytest.mark.parametrize("path", fhir_samples(), ids=lambda p: p.name)
def test_sample_outcome(path: Path) -> None:
    status, detail = outcome(path.read_bytes())
    want_status, want = EXPECTED[path.name]
    assert status == want_status, detail
    if status == 200:
        assert detail == want
    else:
        assert want in detail  # type: ignore[operator]


def test_caredove_names_the_performer_path() -> None:
    path = next(p for p in fhir_samples() if "caredove" in p.name)
    with pytest.raises(InvalidResource) as err:
        map_request(path.read_bytes(), "RX1", NOW)
    paths = [loc for loc, _ in err.value.issues]
    assert "Bundle.entry[0].resource.performer" in paths
    assert all(reason.startswith("invalid R4") for _, reason in err.value.issues)


def test_restricted_patient_keeps_its_security_label_and_validated_nhs_number() -> None:
    path = next(p for p in fhir_samples() if "restricted" in p.name)
    (event,) = map_request(path.read_bytes(), "RX1", NOW).events
    assert event["sensitivity_labels"] == ["R"]
    assert {"system": NHS_NUMBER_SYSTEM, "value": "9000000025", "validated": True} in event["subject"]["identifiers"]


def test_bundle_references_resolve_and_supporting_resources_are_noted() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:p1",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": "9434765870"}],
                },
            },
            {"fullUrl": "urn:uuid:o1", "resource": {"resourceType": "Organization", "name": "CAMHS"}},
            {
                "fullUrl": "urn:uuid:s1",
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": "active",
                    "intent": "order",
                    "identifier": [{"value": "REF-1"}],
                    "subject": {"reference": "urn:uuid:p1"},
                    "meta": {"security": [{"code": "PSY"}]},
                },
            },
        ],
    }
    batch = map_request(json.dumps(bundle).encode(), "RX1", NOW)
    assert [e["kind"] for e in batch.events] == ["person.registered", "referral.made"]
    referral = batch.events[1]
    assert referral["correlation_ids"] == {"referral": "REF-1"}
    assert referral["category"] == "mental-health"  # PSY label
    assert [i.location for i in batch.issues] == ["Bundle.entry[1].resource"]


def test_consent_maps_to_the_consent_payload() -> None:
    consent = {
        "resourceType": "Consent",
        "id": "c1",
        "status": "active",
        "scope": {"coding": [{"code": "patient-privacy"}]},
        "category": [{"coding": [{"code": "59284-0"}]}],
        "patient": {"identifier": {"system": NHS_NUMBER_SYSTEM, "value": "9434765870"}},
        "contained": [
            {
                "resourceType": "RelatedPerson",
                "id": "mum",
                "patient": {"reference": "Patient/p1"},
                "relationship": [
                    {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "MTH"}]}
                ],
            }
        ],
        "performer": [{"reference": "#mum"}],
        "dateTime": "2026-11-01",
        "provision": {
            "type": "permit",
            "period": {"start": "2026-11-01"},
            "actor": [{"role": {"coding": [{"code": "school"}]}, "reference": {"identifier": {"value": "100001"}}}],
            "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}],
            "class": [{"code": "attendance"}],
        },
    }
    (event,) = map_request(json.dumps(consent).encode(), "RX1", NOW).events
    payload = event["payload"][1]
    assert event["kind"] == "consent.given" and event["category"] == "consent"
    assert payload["given_by"] == "parental-responsibility"
    assert payload["recipient_organisations"] == ["100001"]
    assert payload["recipient_organisation_types"] == ["school"]
    assert payload["purposes"] == ["direct-care"]  # v3-ActReason TREAT, in the policy's terms
    assert payload["categories"] == ["attendance"]  # LOINC 59284-0 is the document kind, not a scope
    assert event["sharing_basis"]["kind"] == "consent"


def test_unresolvable_urn_reference_is_a_mapping_error_with_path() -> None:
    flag = {
        "resourceType": "Flag",
        "status": "active",
        "code": {"text": "x"},
        "subject": {"reference": "urn:uuid:nowhere"},
    }
    batch = map_request(json.dumps(flag).encode(), "RX1", NOW)
    assert not batch.events
    assert batch.errors[0].location == "Flag.subject.reference"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from(["Patient", "Encounter", "Bundle", "Consent", "Flag", "Nonsense", "ServiceRequest"]),
    st.dictionaries(
        st.sampled_from(
            ["id", "status", "subject", "patient", "identifier", "entry", "type", "meta", "period", "provision", "x"]
        ),
        json_values,
        max_size=5,
    ),
)
def test_any_json_is_accepted_or_rejected_with_a_reason(rtype: str, fields: dict[str, object]) -> None:
    body = json.dumps({"resourceType": rtype, **fields}).encode()
    try:
        batch = map_request(body, "RX1", NOW)
    except ConnectorError as exc:
        assert exc.reason and exc.location
    else:
        assert batch.events or batch.issues
        assert all(i.reason and i.location for i in batch.issues)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_rejected_with_a_reason(body: bytes) -> None:
    try:
        batch = map_request(body, "RX1", NOW)
    except ConnectorError as exc:
        assert exc.reason
    else:
        assert batch.events or batch.issues


def test_thrive_grouping_observation_is_agreed_with_the_young_persons_view() -> None:
    obs = {
        "resourceType": "Observation",
        "id": "t1",
        "status": "final",
        "code": {"text": "THRIVE grouping"},
        "subject": {"identifier": {"system": NHS_NUMBER_SYSTEM, "value": "9434765870"}},
        "effectiveDateTime": "2026-11-01T10:00:00Z",
        "valueCodeableConcept": {"coding": [{"system": THRIVE_SYSTEM, "code": "getting-help"}]},
        "performer": [{"identifier": {"value": "RX4"}}, {"reference": "Patient/me"}],
        "note": [{"text": "I want to feel less worried at school"}, {"text": "when I can go to lessons again"}],
    }
    (event,) = map_request(json.dumps(obs).encode(), "RX4", NOW).events
    assert (event["kind"], event["category"]) == ("thrive.agreed", "thrive")
    payload = event["payload"][1]
    assert payload["grouping"] == "getting-help" and payload["agreed_by"] == ["RX4", "Patient/me"]
    assert payload["young_person_view"].startswith("I want")
    bad = json.loads(json.dumps(obs))
    bad["valueCodeableConcept"]["coding"][0]["code"] = "fine"
    batch = map_request(json.dumps(bad).encode(), "RX4", NOW)
    assert batch.errors[0].location == "Observation.valueCodeableConcept"
