"""The value types: ordering of levels, validation at the boundary, decisions and their messages, labels."""

from __future__ import annotations

from datetime import datetime

import pytest

from consent_engine import (
    BreakGlass,
    Consenter,
    ConsentRecord,
    ConsentStatus,
    Contact,
    Decision,
    Entry,
    Level,
    Relationship,
    SharingBasis,
    SharingKind,
    labels_for,
)
from consent_engine.decision import make_decision
from consent_engine.model import DEPENDS

from .builders import NOW, consent, default_policy, entry, refusal, run, viewer


def test_levels_are_ordered_and_named() -> None:
    assert Level.NONE < Level.FLAG < Level.SUMMARY < Level.FULL
    assert Level.FULL > Level.SUMMARY >= Level.SUMMARY and Level.FLAG <= Level.FLAG
    assert max(Level) is Level.FULL and sorted(Level, reverse=True)[0] is Level.FULL
    assert [level.rank for level in Level] == [0, 1, 2, 3]
    assert Level("summary") is Level.SUMMARY and str(Level.FLAG) == "flag"
    for op in ("__lt__", "__le__", "__gt__", "__ge__"):
        assert getattr(Level.FULL, op)("full") is NotImplemented
    with pytest.raises(TypeError):
        assert Level.FULL < "full"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: consent(recorded_at=datetime(2026, 1, 1)), "timezone-aware"),
        (lambda: consent(recorded_at="2026-01-01"), "timezone-aware"),  # type: ignore[arg-type]
        (lambda: consent(id=""), "non-empty string"),
        (lambda: consent(status="maybe"), "maybe"),
        (lambda: consent(by="neighbour"), "neighbour"),
        (lambda: ConsentRecord("C", "given", "young-person", NOW, categories="mh"), "not the string"),  # type: ignore[arg-type]
        (lambda: Entry("e", "c", "", "mental-health"), "non-empty string"),
        (lambda: Entry("e", "c", "GP", "mental-health", "PSY"), "not a string"),  # type: ignore[arg-type]
        (lambda: Entry("e", "c", "GP", "mental-health", occurred_at=datetime(2026, 1, 1)), "timezone-aware"),
        (lambda: SharingBasis("implied"), "implied"),  # type: ignore[arg-type]
        (lambda: Relationship("", NOW), "non-empty string"),
        (lambda: Relationship("GP", datetime(2026, 1, 1)), "timezone-aware"),
        (lambda: BreakGlass("r", "j", "c", NOW, datetime(2026, 1, 1)), "timezone-aware"),
        (lambda: BreakGlass("r", "j", "c", NOW, NOW, "*"), "not the string"),  # type: ignore[arg-type]
    ],
)
def test_records_validate_at_the_boundary(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


def test_records_normalise_strings_and_collections() -> None:
    record = ConsentRecord("C1", "given", "young-person", NOW, True, ["RX4"], categories=["a"])  # type: ignore[arg-type]
    assert record.status is ConsentStatus.GIVEN and record.by is Consenter.YOUNG_PERSON
    assert record.organisations == frozenset({"RX4"}) and record.authority == 2 and record.rule == "consent:C1"
    assert refusal().rule == "consent-refused:R1"
    assert ConsentRecord("P", "given", "parental-responsibility", NOW).authority == 1  # type: ignore[arg-type]
    assert consent(competent=False).authority == DEPENDS  # worked out at the decision moment
    assert Entry("e", "c", "GP", "x", ["PSY"]).labels == ("PSY",)  # type: ignore[arg-type]
    assert SharingBasis("consent").kind is SharingKind.CONSENT  # type: ignore[arg-type]


def test_make_decision_is_the_dataclass() -> None:
    contact = Contact("RX4", "CAMHS", "call")
    fast = make_decision(Level.FLAG, "consent:C1", "abc", (("r", "why"),), contact, True)
    slow = Decision(Level.FLAG, "consent:C1", "abc", (("r", "why"),), contact, True)
    assert fast == slow and repr(fast) == repr(slow) and hash(fast) == hash(slow)
    with pytest.raises(AttributeError):
        fast.level = Level.FULL  # type: ignore[misc]


def test_practitioner_message_is_generic() -> None:
    contact = Contact("RX4", "Northshire CAMHS", "01632 960002")
    flag = Decision(Level.FLAG, "consent:C1", "v", (("r", "secret reason"),), contact)
    assert flag.practitioner_message == "A record exists. Contact Northshire CAMHS: 01632 960002."
    assert (
        Decision(Level.FLAG, "b", "v", ()).practitioner_message
        == "A record exists. Contact the recording organisation."
    )
    hidden = [
        run(viewer(), entry(), []),
        run(viewer(), entry(), [refusal()]),
        run(viewer("surgeon"), entry()),
        run(viewer(), entry("sexual-health"), [consent(categories=["*"])]),
    ]
    assert {d.practitioner_message for d in hidden} == {"No information is available to you."}
    assert all("secret" not in d.practitioner_message for d in hidden)
    assert Decision(Level.FULL, "b", "v", ()).practitioner_message == "Shown in full."
    assert "summary" in Decision(Level.SUMMARY, "b", "v", ()).practitioner_message


def test_explanation_and_json_view() -> None:
    decision = run(viewer("teacher", "100001"), entry(source="RX4"), [consent(organisation_types=["school"])])
    text = decision.explanation
    assert "level: flag" in text and "basis: consent:C1" in text and decision.policy_version in text
    assert "contact: Northshire CAMHS (RX4)" in text and "1. [matrix:teacher/direct-care/mental-health]" in text
    data = decision.to_dict()
    assert data["level"] == "flag" and data["matched_rules"] == list(decision.matched_rules)
    assert data["contact"] == {
        "organisation": "RX4",
        "name": "Northshire CAMHS",
        "text": "CAMHS single point of access, 01632 960002",
    }
    hidden = run(viewer(), entry(), []).to_dict()
    assert hidden["contact"] is None and hidden["basis"] is None and hidden["alert"] is False
    assert "basis: -" in run(viewer(), entry(), []).explanation


def test_labels_for_codes() -> None:
    policy = default_policy()
    assert labels_for(policy, [("http://hl7.org/fhir/sid/icd-10", "F32.1")]) == ("PSY",)
    assert labels_for(policy, ["http://hl7.org/fhir/sid/icd-10|F10.2"]) == ("ETH", "PSY")
    assert labels_for(
        policy, [("http://snomed.info/sct", "86406008"), ("urn:onestory:cin-category-of-abuse", "SAB")]
    ) == ("HIV", "SDV")
    assert labels_for(policy, [("http://snomed.info/sct", "F32"), "no-system-code", ("x", "y")]) == ()
    assert labels_for(policy, []) == ()
