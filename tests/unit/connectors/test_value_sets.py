"""Value sets: one test per code set, so a change to value_sets.yaml or the policy's labelling shows here. Pure."""

from __future__ import annotations

import pytest

from connectors.value_sets import (
    CONFIDENTIALITY,
    HOSPITAL_SERVICE,
    ICD10,
    POINT_OF_CARE,
    VIP_INDICATOR,
    Classification,
    classify,
)

SNOMED = "http://snomed.info/sct"


@pytest.mark.parametrize(
    ("coding", "labels", "category"),
    [
        ((ICD10, "F32.1"), ("PSY",), "mental-health"),  # the example: labelled from the policy
        (("http://hl7.org/fhir/sid/icd-10-uk", "F321"), ("PSY",), "mental-health"),
        ((ICD10, "F10.2"), ("ETH", "PSY"), "substance-use"),
        ((ICD10, "F19"), ("ETH", "PSY"), "substance-use"),
        ((SNOMED, "66214007"), ("ETH",), "substance-use"),
        ((ICD10, "O99.8"), (), "pregnancy"),
        ((ICD10, "O00"), (), "pregnancy"),
        ((ICD10, "Z34.0"), (), "pregnancy"),
        ((SNOMED, "77386006"), (), "pregnancy"),
        ((ICD10, "A54.9"), (), "sexual-health"),
        ((ICD10, "Z11.3"), (), "sexual-health"),
        (("I10", "Z20.2"), (), "sexual-health"),  # an HL7 v2 CWE coding-system name
        ((ICD10, "Z30.0"), (), "sexual-health"),
        ((SNOMED, "8098009"), (), "sexual-health"),
        ((ICD10, "B20"), ("HIV",), "sexual-health"),  # HIV label (policy) → its category
        ((ICD10, "F64.0"), ("PSY",), "gender-identity"),
        (("http://hl7.org/fhir/sid/icd-10-cm", "Z87.890"), (), "gender-identity"),
        ((SNOMED, "93461009"), (), "gender-identity"),
        ((ICD10, "J45.9"), (), None),
        ((ICD10, "Z11.4"), (), None),  # next to Z11.3, not in the set
        ((ICD10, "A65"), (), None),  # just past A50–A64
    ],
)
def test_code_sets(coding: tuple[str, str], labels: tuple[str, ...], category: str | None) -> None:
    assert classify([coding]) == Classification(labels, category)


@pytest.mark.parametrize(
    ("coding", "labels", "category"),
    [
        ((CONFIDENTIALITY, "R"), ("R",), None),
        ((CONFIDENTIALITY, "V"), ("V",), None),
        ((CONFIDENTIALITY, "N"), (), None),
        ((VIP_INDICATOR, "V"), ("V",), None),
        ((VIP_INDICATOR, "VIP"), ("R",), None),
        ((HOSPITAL_SERVICE, "GUM"), (), "sexual-health"),
        ((HOSPITAL_SERVICE, "360"), (), "sexual-health"),
        ((HOSPITAL_SERVICE, "GIC"), (), "gender-identity"),
        ((HOSPITAL_SERVICE, "501"), (), "pregnancy"),
        ((HOSPITAL_SERVICE, "DAS"), (), "substance-use"),
        ((HOSPITAL_SERVICE, "711"), ("PSY",), "mental-health"),
        ((HOSPITAL_SERVICE, "MED"), (), None),
        ((POINT_OF_CARE, "SHC"), (), "sexual-health"),
    ],
)
def test_source_markers(coding: tuple[str, str], labels: tuple[str, ...], category: str | None) -> None:
    assert classify([coding]) == Classification(labels, category)


def test_stated_labels_are_kept_and_the_sealed_category_beats_a_label_category() -> None:
    found = classify([(ICD10, "F32.1"), (ICD10, "O99.8")], labels=["R", "N"])
    assert found == Classification(("PSY", "R"), "pregnancy")
    assert classify([], labels=["SDV"]).category == "safeguarding-concern"
    assert classify([]) == Classification()
