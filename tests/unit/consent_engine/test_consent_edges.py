"""Edge cases of the decision that the default policy cannot reach: a small policy built to reach them."""

from __future__ import annotations

from consent_engine import Consenter, ConsentRecord, ConsentStatus, Level, SharingBasis, SharingKind
from consent_engine.consent_state import evaluate_consents

from .builders import NOW, ago, consent, entry, glass, mini_policy, parent, refusal, run, viewer

COURT = SharingBasis(SharingKind.LAWFUL_BASIS, "court-order", "Judge Rinder", "order 123")
CARE = SharingBasis(SharingKind.LAWFUL_BASIS, "care")


def given(**kw: object) -> ConsentRecord:
    kw.setdefault("organisation_types", ["*"])
    kw.setdefault("categories", ["*"])
    return consent(**kw)  # type: ignore[arg-type]


def test_organisation_rules() -> None:
    policy = mini_policy()
    teacher2 = viewer("teacher", "SCH2")
    denied = run(teacher2, entry(source="GP1"), [given()], policy=policy)
    assert denied.level is Level.NONE and denied.matched_rules[-1] == "deny-sch2-mental-health"
    limited = run(teacher2, entry("attendance", source="GP1"), [given()], policy=policy)
    assert limited.level is Level.SUMMARY and "limit-attendance-named-schools" in limited.matched_rules
    gp = viewer("gp", "GP1")  # named in the rule, but not a school: the rule does not apply
    assert run(gp, entry("attendance", source="SCH1"), [given()], policy=policy).level is Level.SUMMARY
    assert (
        run(viewer("teacher", "SCH1"), entry("attendance", source="GP1"), [given()], policy=policy).level is Level.FULL
    )


def test_label_rules_with_organisation_conditions() -> None:
    policy = mini_policy()
    e = entry("attendance", source="GP1", labels=["PSY"])
    assert run(viewer("teacher", "SCH1"), e, [given()], policy=policy).level is Level.FLAG
    assert run(viewer("teacher", "SCH2"), e, [given()], policy=policy).level is Level.SUMMARY
    assert (
        run(viewer("teacher", "SCH1"), entry("attendance", source="GP1", labels=["R"]), [given()], policy=policy).level
        is Level.FULL
    )


def test_basis_without_relationship() -> None:
    policy = mini_policy()
    gp = viewer("gp", "GP1")
    decision = run(gp, entry(source="SCH1", basis=COURT), [], [], policy=policy)
    assert decision.level is Level.SUMMARY and decision.basis == "lawful-basis:court-order"
    assert "lawful basis 'court-order' applies: A court order to share." in decision.explanation


def test_basis_that_needs_a_relationship_in_a_relationship_free_cell() -> None:
    policy = mini_policy()
    gp = viewer("gp", "GP1")
    assert run(gp, entry(source="SCH1", basis=CARE), [], policy=policy).level is Level.FULL
    decision = run(gp, entry(source="SCH1", basis=CARE), [], [], policy=policy)
    assert decision.level is Level.NONE
    assert decision.matched_rules[-1] == "no-legitimate-relationship"
    assert "lawful basis 'care' applies" not in decision.explanation


def test_best_of_several_bases_is_used() -> None:
    policy = mini_policy()
    gp = viewer("gp", "GP1", "safeguarding")
    decision = run(gp, entry(source="SCH1", basis=COURT), [], [], policy=policy)
    assert decision.level is Level.SUMMARY and decision.basis == "lawful-basis:court-order"
    assert run(gp, entry(source="SCH1"), [], [], policy=policy).basis == "lawful-basis:statutory-duty"


def test_policy_without_break_glass() -> None:
    decision = run(
        viewer("gp", "GP1", break_glass=glass()), entry(source="SCH1", basis=CARE), [], [], policy=mini_policy()
    )
    assert decision.level is Level.NONE and decision.alert
    assert "does not allow break-glass" in decision.explanation


def test_standing_basis_without_role_limits() -> None:
    decision = run(viewer("ig-officer", "HUB", "audit"), entry(source="SCH1"), [], policy=mini_policy())
    assert decision.level is Level.FLAG and decision.basis == "lawful-basis:audit"
    assert decision.contact is not None and decision.contact.text == ""
    assert decision.practitioner_message == "A record exists. Contact School One: ."


def test_consent_state_corner_cases() -> None:
    steps: list = []
    future_withdrawal = consent(
        "W1", status=ConsentStatus.WITHDRAWN, withdraws="C1", recorded_at=NOW.replace(year=2027)
    )
    other_child_withdrawal = consent("W2", status=ConsentStatus.WITHDRAWN, withdraws="C1", child_id="other")
    two_denies = [refusal("R1", recorded_at=ago(10)), refusal("R2", recorded_at=ago(5))]
    withdrawals = [consent(f"W{n}", status=ConsentStatus.WITHDRAWN, withdraws="C0") for n in (3, 4)]
    best, deny = evaluate_consents(
        [consent(), future_withdrawal, other_child_withdrawal, *withdrawals, *two_denies],
        "RX4",
        "camhs",
        "mental-health",
        "direct-care",
        "child-1",
        NOW,
        False,
        steps,
        mini_policy().competence,
    )
    assert best is None and deny is not None and deny.id == "R2"
    records = [
        consent("C2", recorded_at=ago(5)),
        consent("C1", recorded_at=ago(50)),
        parent("P1", recorded_at=ago(1), organisation_types=["camhs"]),
    ]
    best, deny = evaluate_consents(
        [*records, refusal("R3", by=Consenter.PARENTAL_RESPONSIBILITY, recorded_at=ago(100))],
        "RX4",
        "camhs",
        "mental-health",
        "direct-care",
        "child-1",
        NOW,
        False,
        steps,
        mini_policy().competence,
    )
    assert best is not None and best.id == "C2" and deny is None
    best, _ = evaluate_consents(
        [consent("C1", recorded_at=ago(50)), consent("C2", recorded_at=ago(5))],
        "RX4",
        "camhs",
        "mental-health",
        "direct-care",
        "child-1",
        NOW,
        True,
        steps,
        mini_policy().competence,
    )
    assert best is not None and best.id == "C2"
