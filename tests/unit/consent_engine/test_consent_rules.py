"""Decision tables: one test (or table) per rule the issue lists, against the default policy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consent_engine import Consenter, ConsentStatus, Level, SharingBasis, SharingKind, decide

from .builders import (
    ACUTE,
    CAMHS,
    CHILD,
    COMMUNITY,
    GP,
    HUB,
    LA,
    NOW,
    SCHOOL,
    VCSE,
    ago,
    consent,
    default_policy,
    entry,
    glass,
    parent,
    refusal,
    rel,
    run,
    safeguarding,
    viewer,
)

CAMHS_VIEWER = viewer()


# --- The source organisation always sees its own entries ------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "org", "category", "labels", "expected"),
    [
        ("gp", GP, "mental-health", (), Level.FULL),
        ("gp", GP, "sexual-health", ("HIV", "V"), Level.FULL),  # sealed, still its own
        ("teacher", SCHOOL, "pastoral-concern", ("ETH", "SDV"), Level.SUMMARY),  # deny rule does not apply to own
        ("teacher", SCHOOL, "safeguarding-concern", (), Level.FLAG),  # minimum necessary within the organisation
        ("teacher", SCHOOL, "sexual-health", (), Level.NONE),  # no need to know, even inside the organisation
    ],
)
def test_source_organisation_sees_its_own_entries(
    role: str, org: str, category: str, labels: tuple[str, ...], expected: Level
) -> None:
    v = viewer(role, org)
    e = entry(category, source=org, labels=labels)
    decision = run(v, e, consents=[refusal(recorded_at=ago(1))], relationships=[])
    assert decision.level is expected
    assert "own-organisation" in decision.matched_rules
    assert decision.basis == ("own-organisation" if expected is not Level.NONE else None)


def test_own_flag_gives_own_contact() -> None:
    decision = run(viewer("teacher", SCHOOL), entry("safeguarding-concern", source=SCHOOL), relationships=[])
    assert decision.contact is not None and decision.contact.organisation == SCHOOL
    assert "designated safeguarding lead" in decision.practitioner_message


def test_own_decisions_with_break_glass_still_alert() -> None:
    decision = run(viewer("gp", GP, break_glass=glass()), entry(source=GP), relationships=[])
    assert decision.level is Level.FULL and decision.alert
    flag = run(viewer("teacher", SCHOOL, break_glass=glass()), entry("safeguarding-concern", source=SCHOOL))
    assert flag.level is Level.FLAG and flag.alert


# --- An explicit deny beats any permit ------------------------------------------------------------------------


def test_deny_rule_beats_consent() -> None:
    v = viewer("teacher", SCHOOL)
    given = consent(organisation_types=["school"], categories=["pastoral-concern"])
    assert run(v, entry("pastoral-concern", source=CAMHS), [given]).level is Level.SUMMARY
    denied = run(v, entry("pastoral-concern", source=CAMHS, labels=["ETH"]), [given])
    assert denied.level is Level.NONE
    assert denied.matched_rules[-1] == "deny-eth-sdv-non-clinical"
    assert denied.basis is None


def test_deny_rule_beats_safeguarding_basis() -> None:
    v = viewer("vcse-worker", VCSE)
    e = entry("vcse-support", source=CAMHS, labels=["SDV"], basis=safeguarding())
    assert run(v, e, [consent(organisation_types=["vcse"], categories=["vcse-support"])]).level is Level.NONE


def test_limit_rules_lower_but_never_raise() -> None:
    v = viewer("gp", GP)
    given = consent(organisation_types=["gp-practice"], categories=["mental-health"])
    assert run(v, entry(source=CAMHS, labels=["R"]), [given]).level is Level.SUMMARY
    teacher = viewer("teacher", SCHOOL)
    attendance = consent(organisation_types=["school"], categories=["attendance"])
    decision = run(teacher, entry("attendance", source=CAMHS, labels=["PSY", "R"]), [attendance])
    assert decision.level is Level.FLAG
    assert decision.matched_rules.count("limit-restricted") == 0  # already lower: not listed as applied


def test_organisation_type_rule() -> None:
    v = viewer("camhs-clinician", ACUTE)
    given = consent(organisation_types=["acute-trust"], categories=["attendance"])
    decision = run(v, entry("attendance", source=SCHOOL), [given])
    assert decision.level is Level.FLAG
    assert "limit-acute-education" in decision.matched_rules


# --- Competent young person's refusal vs a parent's consent ---------------------------------------------------

GIVEN_BY_PARENT = parent(recorded_at=ago(60))


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([GIVEN_BY_PARENT], Level.FULL),
        ([GIVEN_BY_PARENT, refusal(recorded_at=ago(10))], Level.NONE),  # competent refusal, later
        ([refusal(recorded_at=ago(90)), GIVEN_BY_PARENT], Level.NONE),  # competent refusal, earlier: still stands
        # not assessed (and of unknown age): a young person's refusal is respected until an assessment says otherwise
        ([GIVEN_BY_PARENT, refusal(competent=False, recorded_at=ago(10))], Level.NONE),
        (
            [consent(recorded_at=ago(60)), refusal(by=Consenter.PARENTAL_RESPONSIBILITY, recorded_at=ago(10))],
            Level.FULL,
        ),  # a parent cannot override a competent young person
        ([GIVEN_BY_PARENT, refusal(by=Consenter.PARENTAL_RESPONSIBILITY, recorded_at=ago(10))], Level.NONE),
        ([refusal(recorded_at=ago(90)), consent(recorded_at=ago(5))], Level.FULL),  # changed their mind
        ([refusal(recorded_at=ago(5)), consent(recorded_at=ago(5))], Level.NONE),  # same moment: deny wins
        ([refusal(by=Consenter.PARENTAL_RESPONSIBILITY, recorded_at=ago(90)), parent(recorded_at=ago(5))], Level.FULL),
        ([refusal(recorded_at=ago(10), categories=["referral"]), GIVEN_BY_PARENT], Level.FULL),  # other scope
        ([refusal(recorded_at=ago(10), organisation_types=["school"]), GIVEN_BY_PARENT], Level.FULL),
        ([refusal(recorded_at=ago(10), purposes=["safeguarding"]), GIVEN_BY_PARENT], Level.FULL),
        ([refusal(recorded_at=ago(10), organisations=[CAMHS]), GIVEN_BY_PARENT], Level.NONE),
    ],
)
def test_refusal_and_authority(records: list, expected: Level) -> None:
    decision = run(CAMHS_VIEWER, entry(), records)
    assert decision.level is expected, decision.explanation


def test_refusal_is_explained() -> None:
    decision = run(CAMHS_VIEWER, entry(), [GIVEN_BY_PARENT, refusal(recorded_at=ago(10))])
    assert "consent-refused:R1" in decision.matched_rules
    assert "overridden by consent-refused:R1" in decision.explanation


def test_not_competent_young_person_is_noted_and_cannot_consent() -> None:
    decision = run(CAMHS_VIEWER, entry(), [consent(competent=False)])
    assert decision.level is Level.NONE
    assert "consent-not-competent" in decision.matched_rules


def test_safeguarding_basis_overrides_refusal_for_safeguarding_only() -> None:
    refused = refusal(recorded_at=ago(10))
    e = entry("mental-health", source=GP, basis=safeguarding())
    sw = viewer("social-worker", LA, "safeguarding")
    decision = run(sw, e, [refused])
    assert decision.level is Level.FULL and decision.basis == "lawful-basis:safeguarding"
    direct = run(viewer("social-worker", LA, "direct-care"), e, [refused])
    assert direct.level is Level.NONE
    assert "lawful-basis:safeguarding:purpose" in direct.matched_rules


def test_direct_care_basis_does_not_override_refusal() -> None:
    e = entry(source=GP, basis=SharingBasis(SharingKind.LAWFUL_BASIS, "direct-care"))
    assert run(CAMHS_VIEWER, e).level is Level.FULL
    decision = run(CAMHS_VIEWER, e, [refusal(recorded_at=ago(10))])
    assert decision.level is Level.NONE
    assert "lawful-basis:direct-care:refused" in decision.matched_rules


# --- Withdrawal applies from the moment it is recorded --------------------------------------------------------


def test_withdrawal_applies_from_the_moment_recorded() -> None:
    moment = ago(2)
    withdrawal = consent(
        "W1",
        status=ConsentStatus.WITHDRAWN,
        recorded_at=moment,
        withdraws="C1",
        organisation_types=(),
        categories=(),
        purposes=(),
    )
    records = [consent(recorded_at=ago(30)), withdrawal]
    just_before = run(CAMHS_VIEWER, entry(), records, now=moment - timedelta(microseconds=1))
    assert just_before.level is Level.FULL
    at_moment = run(CAMHS_VIEWER, entry(), records, now=moment)
    assert at_moment.level is Level.NONE
    assert "consent-withdrawn:W1" in at_moment.matched_rules


def test_targeted_withdrawal_ends_only_its_record() -> None:
    withdrawal = consent(
        "W1",
        status=ConsentStatus.WITHDRAWN,
        recorded_at=ago(2),
        withdraws="C1",
        organisation_types=(),
        categories=(),
        purposes=(),
    )
    records = [consent(recorded_at=ago(30)), withdrawal, consent("C2", recorded_at=ago(1))]
    decision = run(CAMHS_VIEWER, entry(), records)
    assert decision.level is Level.FULL and decision.basis == "consent:C2"


def test_parent_cannot_withdraw_a_competent_young_persons_consent() -> None:
    withdrawal = parent("W1", status=ConsentStatus.WITHDRAWN, recorded_at=ago(2), withdraws="C1")
    assert run(CAMHS_VIEWER, entry(), [consent(), withdrawal]).level is Level.FULL


def test_withdrawal_revives_an_earlier_refusal() -> None:
    records = [
        refusal(recorded_at=ago(90)),
        consent(recorded_at=ago(30)),
        consent(
            "W1",
            status=ConsentStatus.WITHDRAWN,
            recorded_at=ago(2),
            withdraws="C1",
            organisation_types=(),
            categories=(),
            purposes=(),
        ),
    ]
    e = entry(basis=SharingBasis(SharingKind.LAWFUL_BASIS, "direct-care"))
    assert run(CAMHS_VIEWER, e, records).level is Level.NONE


def test_scoped_withdrawal() -> None:
    records = [
        consent(recorded_at=ago(30)),
        consent("W1", status=ConsentStatus.WITHDRAWN, recorded_at=ago(2), organisation_types=("camhs",)),
    ]
    assert run(CAMHS_VIEWER, entry(), records).level is Level.NONE


def test_future_withdrawal_and_future_consent_do_not_apply_yet() -> None:
    withdrawal = consent("W1", status=ConsentStatus.WITHDRAWN, recorded_at=NOW + timedelta(seconds=1), withdraws="C1")
    assert run(CAMHS_VIEWER, entry(), [consent(), withdrawal]).level is Level.FULL
    assert run(CAMHS_VIEWER, entry(), [consent(recorded_at=NOW + timedelta(seconds=1))]).level is Level.NONE


# --- Safeguarding lawful basis --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "org", "category", "expected"),
    [
        ("social-worker", LA, "mental-health", Level.FULL),
        ("school-nurse", COMMUNITY, "mental-health", Level.SUMMARY),  # only at the level the policy allows
        ("school-dsl", SCHOOL, "encounter", Level.FLAG),
        ("school-dsl", SCHOOL, "sexual-health", Level.NONE),  # sealed: safeguarding basis does not open it
    ],
)
def test_safeguarding_basis_levels(role: str, org: str, category: str, expected: Level) -> None:
    decision = run(viewer(role, org, "safeguarding"), entry(category, source=CAMHS, basis=safeguarding()))
    assert decision.level is expected, decision.explanation


@pytest.mark.parametrize(
    "basis",
    [
        safeguarding(decision_maker=None),
        safeguarding(reason="  "),
        safeguarding(recorded_at=NOW + timedelta(minutes=1)),
        SharingBasis(SharingKind.LAWFUL_BASIS, "not-a-basis", "x", "y"),
        SharingBasis(SharingKind.LAWFUL_BASIS, None, "x", "y"),
        SharingBasis(SharingKind.LAWFUL_BASIS, "ig-audit", "x", "y"),  # standing bases are not recorded
    ],
)
def test_incomplete_or_unknown_lawful_basis_opens_nothing(basis: SharingBasis) -> None:
    decision = run(viewer("social-worker", LA, "safeguarding"), entry(source=CAMHS, basis=basis))
    assert decision.level is Level.NONE
    assert decision.matched_rules[-1] == "no-basis"


def test_recorded_safeguarding_basis_in_the_past_applies() -> None:
    e = entry(source=CAMHS, basis=safeguarding(recorded_at=ago(1)))
    assert run(viewer("social-worker", LA, "safeguarding"), e).level is Level.FULL


def test_lawful_basis_scope() -> None:
    e = entry(source=CAMHS, basis=SharingBasis(SharingKind.LAWFUL_BASIS, "direct-care"))
    decision = run(viewer("social-worker", LA), e)  # direct-care basis covers health professionals only
    assert decision.level is Level.NONE
    assert "lawful-basis:direct-care:scope" in decision.matched_rules


# --- Sealed categories ----------------------------------------------------------------------------------------

NURSE = viewer("school-nurse", COMMUNITY)


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([], Level.NONE),
        ([parent(organisation_types=["community-health"], categories=["sexual-health"])], Level.NONE),
        ([consent(organisation_types=["community-health"], categories=["*"])], Level.NONE),  # not explicit
        ([consent(organisation_types=["community-health"], categories=["sexual-health"], competent=False)], Level.NONE),
        ([consent(organisation_types=["community-health"], categories=["sexual-health"])], Level.FULL),
    ],
)
def test_sealed_needs_explicit_consent_from_young_person(records: list, expected: Level) -> None:
    decision = run(NURSE, entry("sexual-health", source=GP), records)
    assert decision.level is expected, decision.explanation
    assert "sealed" in decision.matched_rules


def test_sealed_label_seals_any_category() -> None:
    given = consent(organisation_types=["camhs"], categories=["*"])
    assert run(CAMHS_VIEWER, entry(labels=["HIV"]), [given]).level is Level.NONE
    explicit = consent(organisation_types=["camhs"], categories=["mental-health"])
    assert run(CAMHS_VIEWER, entry(labels=["HIV"]), [explicit]).level is Level.FULL
    decision = run(CAMHS_VIEWER, entry(labels=["V"]), [given])
    assert "sealed-needs-explicit-consent" in decision.matched_rules


def test_sealed_is_not_opened_by_direct_care_basis() -> None:
    e = entry("pregnancy", source=GP, basis=SharingBasis(SharingKind.LAWFUL_BASIS, "direct-care"))
    decision = run(CAMHS_VIEWER, e)
    assert decision.level is Level.NONE and "lawful-basis:direct-care:sealed" in decision.matched_rules


# --- Legitimate relationship and break-glass ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relationship", "expected"),
    [
        (rel(CAMHS), Level.FULL),
        (rel(CAMHS, role="camhs-clinician"), Level.FULL),
        (rel(CAMHS, role="gp"), Level.NONE),
        (rel(CAMHS, user_id="user-camhs-clinician"), Level.FULL),
        (rel(CAMHS, user_id="someone-else"), Level.NONE),
        (rel(CAMHS, team="eating-disorders"), Level.NONE),
        (rel(CAMHS, end=ago(1)), Level.NONE),
        (rel(CAMHS, start=NOW + timedelta(days=1)), Level.NONE),
        (rel(CAMHS, child_id="another-child"), Level.NONE),
        (rel(CAMHS, child_id=CHILD, end=NOW + timedelta(days=1)), Level.FULL),
        (rel(GP), Level.NONE),
    ],
)
def test_legitimate_relationship(relationship: object, expected: Level) -> None:
    decision = run(CAMHS_VIEWER, entry(), [consent()], [relationship])  # type: ignore[list-item]
    assert decision.level is expected
    if expected is Level.NONE:
        assert "no-legitimate-relationship" in decision.matched_rules


def test_team_relationship_matches_viewer_team() -> None:
    v = viewer(team="eating-disorders")
    assert run(v, entry(), [consent()], [rel(CAMHS, team="eating-disorders")]).level is Level.FULL


def test_break_glass_opens_with_limits_and_alerts() -> None:
    v = viewer(break_glass=glass())
    decision = run(v, entry(), [consent()], [])
    assert decision.level is Level.SUMMARY and decision.alert
    assert "break-glass:emergency-care" in decision.matched_rules
    assert run(viewer(), entry(), [consent()], []).alert is False


@pytest.mark.parametrize(
    ("v", "why"),
    [
        (viewer(break_glass=glass(reason="curiosity")), "not a break-glass reason"),
        (viewer(break_glass=glass(justification="   ")), "justification"),
        (viewer("teacher", SCHOOL, break_glass=glass()), "may not break glass"),
        (viewer(break_glass=glass(child="other-child")), "another child"),
        (viewer(break_glass=glass(starts=ago(1))), "not in force"),
        (viewer(break_glass=glass(starts=NOW + timedelta(minutes=5))), "not in force"),
        (viewer(break_glass=glass(starts=ago(minutes=10), minutes=600)), "longer than"),
        (viewer(break_glass=glass(categories=["referral"])), "outside the break-glass scope"),
    ],
)
def test_invalid_break_glass_opens_nothing_but_alerts(v: object, why: str) -> None:
    decision = run(v, entry(), [consent(organisation_types=["camhs", "school"])], [])  # type: ignore[arg-type]
    assert decision.level is Level.NONE and decision.alert
    assert "break-glass-refused" in decision.matched_rules
    assert why in decision.explanation


def test_break_glass_needs_a_basis_and_does_not_open_sealed() -> None:
    assert run(viewer(break_glass=glass()), entry(), [], []).level is Level.NONE
    sealed = consent(categories=["sexual-health"])
    assert run(viewer(break_glass=glass()), entry("sexual-health"), [sealed], []).level is Level.SUMMARY
    assert run(viewer(break_glass=glass()), entry("sexual-health"), [consent(categories=["*"])], []).level is Level.NONE


# --- Minimum necessary ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "org", "category", "expected"),
    [
        ("teacher", SCHOOL, "mental-health", Level.FLAG),
        ("teacher", SCHOOL, "pastoral-concern", Level.SUMMARY),
        ("teacher", SCHOOL, "attendance", Level.FULL),
        ("teacher", SCHOOL, "encounter", Level.NONE),
        ("school-dsl", SCHOOL, "mental-health", Level.FLAG),
        ("vcse-worker", VCSE, "mental-health", Level.FLAG),
        ("gp", GP, "mental-health", Level.FULL),
    ],
)
def test_minimum_necessary(role: str, org: str, category: str, expected: Level) -> None:
    everything = consent(organisation_types=["*"], categories=["*"])
    decision = run(viewer(role, org), entry(category, source=CAMHS), [everything])
    assert decision.level is expected
    assert decision.matched_rules[0].startswith(f"matrix:{role}/direct-care/")
    if expected is Level.FLAG:
        assert decision.contact is not None and decision.contact.organisation == CAMHS
    else:
        assert decision.contact is None


# --- IG officers see metadata, never content ------------------------------------------------------------------


def test_ig_officer_audit_sees_metadata_only() -> None:
    ig = viewer("ig-officer", HUB, "audit")
    decision = run(ig, entry(source=CAMHS), [], [])
    assert decision.level is Level.FLAG and decision.basis == "lawful-basis:ig-audit"
    assert (
        run(ig, entry(source=CAMHS), [consent(organisation_types=["*"], categories=["*"], purposes=["*"])], []).level
        is Level.FLAG
    )


def test_ig_officer_outside_the_hub_sees_only_own_organisation() -> None:
    ig = viewer("ig-officer", GP, "audit")
    assert run(ig, entry(source=CAMHS), []).level is Level.NONE
    assert run(ig, entry(source=GP), []).level is Level.FLAG


def test_ig_officer_does_not_see_sealed_entries_or_refused_ones() -> None:
    ig = viewer("ig-officer", HUB, "audit")
    assert run(ig, entry("pregnancy", source=CAMHS), []).level is Level.NONE
    decision = run(ig, entry(source=CAMHS), [refusal(recorded_at=ago(1))], [])
    assert decision.level is Level.NONE
    assert "lawful-basis:ig-audit:refused" in decision.matched_rules


def test_ig_officer_direct_care_is_not_permitted() -> None:
    decision = run(viewer("ig-officer", HUB, "direct-care"), entry(source=CAMHS))
    assert decision.level is Level.NONE and decision.matched_rules == ("purpose-not-permitted",)


# --- Fail closed ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("v", "e", "rule"),
    [
        (viewer(organisation="NOT-A-PARTY"), entry(), "unknown-organisation"),
        (viewer(organisation_type="school"), entry(), "organisation-type-mismatch"),
        (viewer(), entry(source="NOT-A-PARTY"), "unknown-source-organisation"),
        (viewer(role="surgeon"), entry(), "unknown-role"),
        (viewer(purpose="research"), entry(), "unknown-purpose"),
        (viewer(role="teacher", organisation=SCHOOL, purpose="safeguarding"), entry(), "purpose-not-permitted"),
        (viewer(), entry("horoscope"), "unknown-category"),
    ],
)
def test_unknown_inputs_fail_closed(v: object, e: object, rule: str) -> None:
    decision = run(v, e, [consent(organisation_types=["*"], categories=["*"], purposes=["*"])])  # type: ignore[arg-type]
    assert decision.level is Level.NONE
    assert decision.matched_rules == (rule,)
    assert decision.basis is None


def test_matching_organisation_type_is_accepted() -> None:
    assert run(viewer(organisation_type="camhs"), entry(), [consent()]).level is Level.FULL


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(default_policy(), [], [], viewer(), entry(), NOW.replace(tzinfo=None))


# --- No level above none without a consent record or a lawful basis -------------------------------------------


def test_no_basis_no_disclosure() -> None:
    decision = run(CAMHS_VIEWER, entry(basis=SharingBasis(SharingKind.CONSENT, "C9")))
    assert decision.level is Level.NONE and decision.basis is None
    assert decision.matched_rules[-1] == "no-basis"


def test_consent_is_the_basis() -> None:
    decision = run(CAMHS_VIEWER, entry(), [consent()])
    assert decision.basis == "consent:C1" and decision.level is Level.FULL


@pytest.mark.parametrize(
    "record",
    [
        consent(child_id="another-child"),
        consent(start=NOW + timedelta(days=1)),
        consent(end=NOW),
        consent(purposes=["safeguarding"]),
        consent(organisation_types=["school"]),
        consent(categories=["referral"]),
        consent(organisation_types=(), organisations=[GP]),
    ],
)
def test_consent_scope(record: object) -> None:
    assert run(CAMHS_VIEWER, entry(), [record]).level is Level.NONE  # type: ignore[list-item]


@pytest.mark.parametrize(
    "record",
    [
        consent(child_id=CHILD),
        consent(start=ago(1), end=NOW + timedelta(seconds=1)),
        consent(organisation_types=(), organisations=[CAMHS]),
        consent(organisation_types=(), organisations=["*"]),
        consent(purposes=["*"]),
    ],
)
def test_consent_scope_matches(record: object) -> None:
    assert run(CAMHS_VIEWER, entry(), [record]).level is Level.FULL  # type: ignore[list-item]


def test_other_child_consent_is_noted() -> None:
    decision = run(CAMHS_VIEWER, entry(), [consent(child_id="another-child")])
    assert "consent-other-child" in decision.matched_rules


def test_most_authoritative_and_recent_consent_is_the_basis() -> None:
    records = [parent("P1", recorded_at=ago(1)), consent("C1", recorded_at=ago(50)), consent("C2", recorded_at=ago(5))]
    assert run(CAMHS_VIEWER, entry(), records).basis == "consent:C2"
    with_refusal = [*records, refusal(by=Consenter.PARENTAL_RESPONSIBILITY, recorded_at=ago(100))]
    assert run(CAMHS_VIEWER, entry(), with_refusal).basis == "consent:C2"


def test_consent_without_relationship_falls_back_to_standing_basis() -> None:
    ig = viewer("ig-officer", HUB, "audit")
    decision = run(ig, entry(source=CAMHS), [consent(organisation_types=["hub"], purposes=["audit"])], [])
    assert decision.level is Level.FLAG and decision.basis == "lawful-basis:ig-audit"
