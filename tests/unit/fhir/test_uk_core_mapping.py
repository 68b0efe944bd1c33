"""FHIR that UK systems accept (issue 18, item 4), at the mapping: Encounter status and class from the event and
PV1-2, organisations under their national identifiers from the directory, UK Core profiles, registrations.

Pure: timeline rows built as the projector builds them, mapped with the bundled directory; every resource is
validated with the fhir.resources R4B models.
"""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from hub.fhir.mapping import to_resource
from hub.fhir.meta import Served
from hub.fhir.uk_core import uk_core
from hub.policy_files import load_policy
from projections.timeline import timeline_row
from tests.support.events import event
from tests.support.story import CAMHS, COUNCIL, GP, SCHOOL, story

CHILD = "0b6f3c1e-8a51-4a8e-9c51-3f0c2f7f6e11"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
URN = "https://fhir.hl7.org.uk/Id/urn-school-number"
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
POLICY = load_policy(None)


def served(e: dict[str, Any], level: str = "full") -> Served:
    row = timeline_row(e | {"child_id": CHILD})
    org = POLICY.organisations[row["source_org"]]
    return Served(row, level, org.name, organisations=POLICY.organisations)


def resource(e: dict[str, Any], level: str = "full") -> dict[str, Any]:
    out = to_resource(served(e, level))
    get_fhir_model_class(out["resourceType"]).model_validate(out)
    return out


def admission(kind: str, patient_class: str | None) -> dict[str, Any]:
    fields = {"encounter_id": "V1", "encounter_class": patient_class, "location": "Ward 4", "clinician": "Dr Adebayo"}
    return event(kind, "encounter", "RX1", "Encounter", fields, day=2, org_type="acute-trust")


@pytest.mark.parametrize("level", ["full", "summary"])
@pytest.mark.parametrize(("kind", "status"), [("encounter.started", "in-progress"), ("encounter.ended", "finished")])
@pytest.mark.parametrize(("pv1_2", "klass"), [("E", "EMER"), ("I", "IMP"), ("O", "AMB"), ("e", "EMER")])
def test_encounter_status_from_the_event_and_class_from_pv1_2(
    kind: str, status: str, pv1_2: str, klass: str, level: str
) -> None:
    out = resource(admission(kind, pv1_2), level)
    assert out["status"] == status
    assert out["class"] == {"system": ACT, "code": klass}


def test_an_unknown_patient_class_is_said_to_be_unknown_not_guessed() -> None:
    for pv1_2 in (None, "Z", ""):
        out = resource(admission("encounter.started", pv1_2))
        assert out["class"]["code"] == "UNK" and out["class"]["system"].endswith("v3-NullFlavor")


def test_a_discharge_ends_the_period() -> None:
    out = resource(admission("encounter.ended", "I"))
    assert "end" in out["period"]


def test_organisations_carry_their_national_identifier_from_the_directory() -> None:
    by_kind = {e["kind"]: e for e in story(CHILD)}
    referral = resource(by_kind["referral.accepted"])  # to_organisation: RX4, the CAMHS service (ODS)
    assert referral["performer"] == [{"identifier": {"system": ODS, "value": CAMHS}, "display": "Northshire CAMHS"}]
    concern = resource(by_kind["concern.raised"])  # recorded by the school: its DfE URN
    assert concern["asserter"]["identifier"] == {"system": URN, "value": SCHOOL}
    plan = resource(by_kind["plan.started"])  # the council: its LA code, in the directory's system for it
    la = POLICY.organisations[COUNCIL]
    assert plan["author"]["identifier"] == {"system": la.code_system, "value": COUNCIL}
    assert la.code_system and "onestory.example.org" not in la.code_system


def test_a_referral_to_an_organisation_named_not_coded_is_matched_or_left_as_display() -> None:
    named = event(
        "referral.made",
        "referral",
        GP,
        "Referral",
        {"referral_id": "R5", "status": "made", "to_organisation": "northshire camhs"},
    )
    assert resource(named)["performer"][0]["identifier"] == {"system": ODS, "value": CAMHS}
    unknown = event(
        "referral.made",
        "referral",
        GP,
        "Referral",
        {"referral_id": "R6", "status": "made", "to_organisation": "Dr Who Clinic"},
    )
    assert resource(unknown)["performer"] == [{"display": "Dr Who Clinic"}]  # never a name posing as an identifier


def test_every_resource_claims_its_uk_core_profile() -> None:
    for e in story(CHILD):
        for level in ("full", "summary", "flag"):
            out = resource(e, level)
            assert out["meta"]["profile"] == [uk_core().profile(out["resourceType"])], (e["kind"], level)
            assert out["meta"]["profile"][0].startswith("https://fhir.hl7.org.uk/StructureDefinition/UKCore-")


def test_a_registration_is_an_episode_of_care_with_the_school_managing_it() -> None:
    on_roll = event("person.registered", "demographics", SCHOOL, "Person", {"registered_gp": None}, day=1)
    out = resource(on_roll)
    assert out["resourceType"] == "EpisodeOfCare" and out["status"] == "active"
    assert out["managingOrganization"]["identifier"] == {"system": URN, "value": SCHOOL}
    assert out["type"] == [{"text": "On the school roll"}] and out["patient"] == {"reference": f"Patient/{CHILD}"}
    summary = resource(on_roll, "summary")
    assert "managingOrganization" not in summary and summary["resourceType"] == "EpisodeOfCare"
    updated = event("person.updated", "demographics", GP, "Person", {"registered_gp": GP}, day=2)
    assert resource(updated)["resourceType"] == "Observation"  # a demographics update is not a registration
