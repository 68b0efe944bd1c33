"""Competence as recorded at source: assessments are events, 16-17s are presumed competent, an under-16's
refusal is respected until an assessment says otherwise, their consent counts once competence is recorded, and
their own request for help always reaches the service they asked for. Decision tables over the default policy."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from consent_engine import (
    CompetenceAssessment,
    CompetenceFacts,
    CompetenceOutcome,
    Consenter,
    ConsentRecord,
    ConsentStatus,
    Level,
    PolicyError,
    ScenarioError,
    SharingBasis,
    SharingKind,
    check_policy,
    decide,
    diff_policies,
    generated_scenarios,
    parse_policy,
    render_markdown,
    scenario_from_mapping,
)
from consent_engine.consent_state import birthday, judge
from consent_engine.model import DEPENDS

from .builders import (
    CAMHS,
    GP,
    HUB,
    LA,
    MINI,
    MINI_DIRECTORY,
    NOW,
    SCHOOL,
    ago,
    consent,
    default_policy,
    entry,
    mini_policy,
    parent,
    refusal,
    rel,
    run,
    viewer,
)

FOURTEEN = date(2012, 1, 15)  # 14 at NOW
SIXTEEN = date(2010, 3, 1)  # turned 16 on 2026-03-01
SIXTEEN_TODAY = date(2010, 5, 1)  # turns 16 on NOW's date
CAMHS_VIEWER = viewer()
SCHOOL_DSL = viewer("school-dsl", SCHOOL)


def assessed(
    id: str = "A1",
    outcome: str = "competent",
    at: datetime | None = None,
    categories: tuple[str, ...] = (),
    recorded_at: datetime | None = None,
) -> CompetenceAssessment:
    return CompetenceAssessment(
        id,
        CompetenceOutcome(outcome),
        at or ago(20),
        recorded_at,
        frozenset(categories),
        "camhs-clinician C4711",
    )


def facts(born: date | None = FOURTEEN, *assessments: CompetenceAssessment) -> CompetenceFacts:
    return CompetenceFacts(born, assessments)


def yp(id: str = "Y1", facts_: CompetenceFacts | None = None, **kw: object) -> ConsentRecord:
    """A young person's consent (or, with status=, refusal) carrying what the hub knows of their competence."""
    return consent(id, competent=False, competence=facts_ or facts(), **kw)  # type: ignore[arg-type]


def yp_withdrawal(id: str, withdraws: str, facts_: CompetenceFacts | None = None) -> ConsentRecord:
    return yp(
        id,
        facts_,
        status=ConsentStatus.WITHDRAWN,
        withdraws=withdraws,
        recorded_at=ago(1),
        organisation_types=(),
        categories=(),
        purposes=(),
    )


def yp_refusal(id: str = "R1", facts_: CompetenceFacts | None = None, **kw: object) -> ConsentRecord:
    return refusal(id, competent=False, competence=facts_ or facts(), **kw)  # type: ignore[arg-type]


PARENT = parent(recorded_at=ago(60))


# --- Refusals: a competent young person's, and an under-16's not yet assessed, beat a parent's consent ----------


@pytest.mark.parametrize(
    ("records", "expected", "rule"),
    [
        ([PARENT], Level.FULL, "consent:P1"),
        # competent (assessed) refusal beats the parent's consent
        (
            [PARENT, yp_refusal(facts_=facts(FOURTEEN, assessed()), recorded_at=ago(10))],
            Level.NONE,
            "consent-refused:R1",
        ),
        # a 16-year-old is presumed competent: their refusal beats the parent's consent
        ([PARENT, yp_refusal(facts_=facts(SIXTEEN), recorded_at=ago(10))], Level.NONE, "competence-presumed"),
        # under 16, not assessed: the refusal is respected from the moment it is recorded (fail closed)
        ([PARENT, yp_refusal(recorded_at=ago(10))], Level.NONE, "competence-refusal-respected"),
        # ... even recorded before the parent's consent (the parent cannot override it)
        ([yp_refusal(recorded_at=ago(90)), PARENT], Level.NONE, "competence-refusal-respected"),
        # ... and without a date of birth
        ([PARENT, yp_refusal(facts_=facts(None), recorded_at=ago(10))], Level.NONE, "competence-refusal-respected"),
        # after an assessment that says the young person was not competent, the parent decides
        (
            [
                PARENT,
                yp_refusal(facts_=facts(FOURTEEN, assessed(outcome="not_competent", at=ago(5))), recorded_at=ago(10)),
            ],
            Level.FULL,
            "consent-not-competent",
        ),
        # a refusal scoped elsewhere does not touch this entry
        ([PARENT, yp_refusal(recorded_at=ago(10), organisation_types=["school"])], Level.FULL, "consent:P1"),
    ],
)
def test_refusals_and_parents(records: list[ConsentRecord], expected: Level, rule: str) -> None:
    decision = run(CAMHS_VIEWER, entry(), records)
    assert decision.level is expected, decision.explanation
    assert rule in decision.matched_rules


def test_refusal_is_respected_until_the_not_competent_assessment_is_known() -> None:
    assessment = assessed(outcome="not_competent", at=ago(5), recorded_at=ago(3))
    records = [PARENT, yp_refusal(facts_=facts(FOURTEEN, assessment), recorded_at=ago(10))]
    assert run(CAMHS_VIEWER, entry(), records, now=ago(7)).level is Level.NONE  # before the assessment
    assert run(CAMHS_VIEWER, entry(), records, now=ago(4)).level is Level.NONE  # assessed, not yet recorded
    after = run(CAMHS_VIEWER, entry(), records, now=ago(3))
    assert after.level is Level.FULL and after.basis == "consent:P1"
    assert "assessed by camhs-clinician C4711" in after.explanation and "not competent" in after.explanation


def test_the_derivation_says_what_happened() -> None:
    decision = run(CAMHS_VIEWER, entry(), [PARENT, yp_refusal(recorded_at=ago(10))])
    assert "refused by a young person under 16 not assessed: respected until an assessment says otherwise" in (
        decision.explanation
    )
    presumed = run(CAMHS_VIEWER, entry(), [yp(facts_=facts(SIXTEEN))])
    assert presumed.level is Level.FULL and "presumed competent at 16" in presumed.explanation
    unknown = run(CAMHS_VIEWER, entry(), [yp(facts_=facts(None))])
    assert unknown.level is Level.NONE and "unknown age" in unknown.explanation


# --- An under-16's consent counts once competence is recorded ---------------------------------------------------


def test_under_16_consent_counts_only_from_a_competent_assessment() -> None:
    moment = ago(5)
    records = [yp(facts_=facts(FOURTEEN, assessed(at=moment)), recorded_at=ago(30))]
    before = run(CAMHS_VIEWER, entry(), records, now=moment - timedelta(seconds=1))
    assert before.level is Level.NONE and "consent-not-competent" in before.matched_rules
    at = run(CAMHS_VIEWER, entry(), records, now=moment)
    assert at.level is Level.FULL and at.basis == "consent:Y1"
    assert "competence-assessed:A1" in at.matched_rules
    never = run(CAMHS_VIEWER, entry(), [yp(recorded_at=ago(30))])
    assert never.level is Level.NONE and "consent-not-competent" in never.matched_rules


def test_latest_assessment_covering_the_category_wins() -> None:
    yes, no = assessed("A1", at=ago(20)), assessed("A2", "not_competent", at=ago(10))
    assert run(CAMHS_VIEWER, entry(), [yp(facts_=facts(FOURTEEN, yes, no))]).level is Level.NONE
    assert run(CAMHS_VIEWER, entry(), [yp(facts_=facts(FOURTEEN, no, assessed("A3", at=ago(2))))]).level is Level.FULL
    other = assessed("A4", at=ago(2), categories=("sexual-health",))  # for another decision: does not count here
    assert run(CAMHS_VIEWER, entry(), [yp(facts_=facts(FOURTEEN, no, other))]).level is Level.NONE
    every = assessed("A5", at=ago(2), categories=("*",))
    assert run(CAMHS_VIEWER, entry(), [yp(facts_=facts(FOURTEEN, no, every))]).level is Level.FULL
    same_moment = (assessed("B", at=ago(2)), assessed("A", "not_competent", at=ago(2)))
    assert run(CAMHS_VIEWER, entry(), [yp(facts_=facts(FOURTEEN, *same_moment))]).level is Level.FULL  # by id


def test_competent_recorded_with_the_record_counts_as_an_assessment() -> None:
    record = consent("C1", competent=True, competence=facts(FOURTEEN), recorded_at=ago(30))
    assert record.authority == DEPENDS
    decision = run(CAMHS_VIEWER, entry(), [record])
    assert decision.level is Level.FULL and "competence-assessed:C1" in decision.matched_rules
    later = assessed("A9", "not_competent", at=ago(2))
    assert run(CAMHS_VIEWER, entry(), [consent("C1", competence=facts(FOURTEEN, later))]).level is Level.NONE
    assert consent(competent=True).authority == 2 and consent(competent=True, competence=facts(None)).authority == 2


# --- 16 and 17: presumed competent unless an assessment says otherwise ------------------------------------------


def test_sixteen_is_presumed_competent_unless_assessed_otherwise() -> None:
    assert run(CAMHS_VIEWER, entry(), [yp(facts_=facts(SIXTEEN))]).level is Level.FULL
    since = assessed("A1", "not_competent", at=ago(10))  # made after the 16th birthday
    overridden = run(CAMHS_VIEWER, entry(), [yp(facts_=facts(SIXTEEN, since))])
    assert overridden.level is Level.NONE and "consent-not-competent" in overridden.matched_rules
    old = assessed("A0", "not_competent", at=datetime(2024, 6, 1, tzinfo=UTC))  # made at 14
    assert run(CAMHS_VIEWER, entry(), [yp(facts_=facts(SIXTEEN, old))]).level is Level.FULL


def test_presumption_starts_on_the_sixteenth_birthday() -> None:
    records = [PARENT, yp(facts_=facts(SIXTEEN_TODAY), recorded_at=ago(30))]
    assert run(CAMHS_VIEWER, entry(), records, now=ago(1)).basis == "consent:P1"  # 15: only noted
    assert run(CAMHS_VIEWER, entry(), records).basis == "consent:Y1"  # 16 today: their own consent, preferred


def test_birthday_of_a_leap_day_baby() -> None:
    assert birthday(date(2008, 2, 29), 16) == date(2024, 2, 29)
    assert birthday(date(2008, 2, 29), 17) == date(2025, 3, 1)
    assert birthday(date(2026, 5, 1), -16) == date(2010, 5, 1)


# --- Own requests: a self-referral always reaches the service asked for -----------------------------------------

SELF_REFERRAL = ("self-referral", "mental-health")


def own_request(**kw: object) -> ConsentRecord:
    kw.setdefault("categories", SELF_REFERRAL)
    return yp("SR1", **kw)  # type: ignore[arg-type]


def test_self_referral_reaches_the_service_whatever_the_competence() -> None:
    referral = entry("self-referral", source=HUB)
    decision = run(CAMHS_VIEWER, referral, [own_request()])
    assert decision.level is Level.FULL and decision.basis == "consent:SR1"
    assert "competence-own-request" in decision.matched_rules
    # the same consent does not open the rest of the story until competence is recorded
    assert run(CAMHS_VIEWER, entry(), [own_request()]).level is Level.NONE
    not_competent = facts(FOURTEEN, assessed(outcome="not_competent"))
    assert run(CAMHS_VIEWER, referral, [own_request(facts_=not_competent)]).level is Level.FULL
    # a parent's later refusal does not stop the young person's own request
    parent_refusal = refusal("PR", by=Consenter.PARENTAL_RESPONSIBILITY, competent=False, recorded_at=ago(1))
    assert run(CAMHS_VIEWER, referral, [own_request(), parent_refusal]).level is Level.FULL
    # the young person can always withdraw their own request, competent or not
    withdrawal = yp_withdrawal("W1", "SR1", not_competent)
    withdrawn = run(CAMHS_VIEWER, referral, [own_request(facts_=not_competent), withdrawal])
    assert withdrawn.level is Level.NONE and "consent-withdrawn:W1" in withdrawn.matched_rules


def test_own_request_does_not_open_a_sealed_entry() -> None:
    sealed = entry("self-referral", source=HUB, labels=["V"])
    decision = run(CAMHS_VIEWER, sealed, [own_request()])
    assert decision.level is Level.NONE and "sealed-needs-explicit-consent" in decision.matched_rules
    competent = facts(FOURTEEN, assessed())
    assert run(CAMHS_VIEWER, sealed, [own_request(facts_=competent)]).level is Level.FULL


def test_a_not_competent_withdrawal_cannot_end_a_parents_consent() -> None:
    not_competent = facts(FOURTEEN, assessed(outcome="not_competent"))
    withdrawal = yp_withdrawal("W1", "P1", not_competent)
    assert run(CAMHS_VIEWER, entry(), [PARENT, withdrawal]).level is Level.FULL
    respected = yp_withdrawal("W2", "P1")
    assert run(CAMHS_VIEWER, entry(), [PARENT, respected]).level is Level.NONE


def test_judge_directly() -> None:
    rules = default_policy().competence
    authority, opens, step = judge(yp_refusal(), rules, "mental-health", NOW)
    assert (authority, opens, step[0]) == (2, False, "competence-refusal-respected")
    assert judge(own_request(), rules, "self-referral", NOW)[:2] == (2, False)
    assert judge(yp(facts_=facts(SIXTEEN)), rules, "mental-health", NOW)[:2] == (2, True)


# --- public-task --------------------------------------------------------------------------------------------------

PUBLIC_TASK = SharingBasis(SharingKind.LAWFUL_BASIS, "public-task")


def test_public_task_shares_the_plan_with_the_team_around_the_child() -> None:
    plan = entry("social-care-plan", source=LA, basis=PUBLIC_TASK)
    gp = run(viewer("gp", GP), plan)
    assert gp.level is Level.SUMMARY and gp.basis == "lawful-basis:public-task"
    assert run(viewer("school-dsl", SCHOOL), plan).level is Level.FLAG
    assert run(viewer("camhs-clinician", CAMHS), plan).level is Level.SUMMARY
    teacher = run(viewer("teacher", SCHOOL), entry("pastoral-concern", source=LA, basis=PUBLIC_TASK))
    assert teacher.level is Level.NONE and "lawful-basis:public-task:scope" in teacher.matched_rules
    acting = run(viewer("gp", GP, "safeguarding"), plan)
    assert acting.level is Level.NONE and "lawful-basis:public-task:purpose" in acting.matched_rules
    no_team = run(viewer("gp", GP), plan, relationships=[])
    assert no_team.level is Level.NONE
    refused = run(viewer("gp", GP), plan, [yp_refusal(recorded_at=ago(10))])
    assert refused.level is Level.NONE and "lawful-basis:public-task:refused" in refused.matched_rules


def test_every_lawful_basis_a_connector_emits_is_defined() -> None:
    bases = default_policy().lawful_bases
    assert {"direct-care", "safeguarding", "public-task"} <= set(bases)
    assert {code for code, basis in bases.items() if basis.requires_decision} == {"safeguarding"}


# --- The policy's competence section -----------------------------------------------------------------------------


def test_policy_states_the_competence_rules() -> None:
    rules = default_policy().competence
    assert rules.presumed_from_age == 16 and rules.own_request_categories == frozenset({"self-referral"})
    assert set(rules.texts) == {
        "assessment",
        "presumed",
        "refusal",
        "consent",
        "own-request",
        "parental-responsibility",
    }
    assert "Gillick" in rules.description
    mini = mini_policy().competence  # no section: the defaults, in plain words
    assert mini.presumed_from_age == 16 and not mini.own_request_categories
    assert "none in this policy" in mini.texts["own-request"] and "16" in mini.texts["presumed"]


COMPETENCE = """competence:
  presumed_from_age: 15
  own_request_categories: [attendance]
  rules:
    presumed: From fifteen.
"""


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("competence:\n  presumed_from_age: 30\n", "presumed_from_age must be an age from 1 to 18"),
        ("competence:\n  presumed_from_age: old\n", "must be a whole number"),
        ("competence:\n  own_request_categories: [attendance]\n", "competence needs 'presumed_from_age'"),
        ("competence:\n  presumed_from_age: 16\n  own_request_categories: [horoscope]\n", "unknown category"),
        ("competence:\n  presumed_from_age: 16\n  own_request_categories: [sexual-health]\n", "is sealed"),
        ("competence:\n  presumed_from_age: 16\n  rules: {whim: x}\n", "unknown competence rule 'whim'"),
        ("competence:\n  presumed_from_age: 16\n  colour: blue\n", "unknown key 'colour'"),
    ],
)
def test_bad_competence_sections(section: str, message: str) -> None:
    problems = check_policy(MINI + section, "mini.yaml", MINI_DIRECTORY)
    assert any(message in p.message for p in problems), problems
    with pytest.raises(PolicyError):
        parse_policy(MINI + section, "mini.yaml", MINI_DIRECTORY)


def test_a_policy_can_change_the_competence_rules() -> None:
    policy = parse_policy(MINI + COMPETENCE, "mini.yaml", MINI_DIRECTORY)
    rules = policy.competence
    assert rules.presumed_from_age == 15 and rules.texts["presumed"] == "From fifteen."
    assert "attendance" in rules.texts["own-request"]
    fifteen = consent(
        "Y1", competent=False, competence=facts(date(2011, 1, 1)), organisation_types=["*"], categories=["attendance"]
    )
    teacher = viewer("teacher", "SCH1")
    assert decide(policy, [fifteen], [], teacher, entry("attendance", source="GP1"), NOW).level is Level.NONE
    assert decide(policy, [fifteen], [rel("SCH1")], teacher, entry("attendance", source="GP1"), NOW).level is (
        Level.FULL
    )
    assert decide(mini_policy(), [fifteen], [rel("SCH1")], teacher, entry("attendance", source="GP1"), NOW).level is (
        Level.NONE
    )


def test_render_and_diff_show_the_competence_rules() -> None:
    text = render_markdown(default_policy())
    assert "## Competence" in text and "a young person aged 16 or over is presumed competent" in text
    assert "own request for help (`self-referral`)" in text and "| Presumed competent |" in text
    mini_text = render_markdown(mini_policy())
    assert "own request for help (none in this policy)" in mini_text and "Own requests for help" not in mini_text
    changed = parse_policy(MINI + COMPETENCE, "mini.yaml", MINI_DIRECTORY)
    assert "own requests for help that count whatever the young person's competence: `attendance`" in (
        render_markdown(changed)
    )
    report = diff_policies(mini_policy(), changed, generated_scenarios(mini_policy(), changed, NOW))
    assert report.widened > 0 and report.narrowed == 0


# --- Values and scenario documents --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CompetenceAssessment("", "competent", NOW), "non-empty string"),  # type: ignore[arg-type]
        (lambda: CompetenceAssessment("A", "maybe", NOW), "maybe"),  # type: ignore[arg-type]
        (lambda: CompetenceAssessment("A", "competent", datetime(2026, 1, 1)), "timezone-aware"),  # type: ignore[arg-type]
        (lambda: CompetenceAssessment("A", "competent", None), "timezone-aware"),  # type: ignore[arg-type]
        (lambda: CompetenceAssessment("A", "competent", NOW, categories="x"), "not the string"),  # type: ignore[arg-type]
        (lambda: CompetenceFacts(NOW), "must be a date"),
        (lambda: CompetenceFacts("2012-01-01"), "must be a date"),  # type: ignore[arg-type]
        (lambda: consent(competence={"birth_date": None}), "CompetenceFacts"),
    ],
)
def test_competence_values_validate(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


def test_assessment_applies_from_when_it_is_known() -> None:
    late = CompetenceAssessment("A", "competent", ago(5), ago(2))  # type: ignore[arg-type]
    early = CompetenceAssessment("B", "competent", ago(5), ago(9))  # type: ignore[arg-type]
    assert late.effective_at == ago(2) and early.effective_at == ago(5) and late.competent


SCENARIO = {
    "now": "2026-05-01T12:00:00Z",
    "viewer": {"user_id": "u", "organisation": CAMHS, "role": "camhs-clinician", "purpose": "direct-care"},
    "entry": {"id": "e", "child_id": "c", "source_organisation": GP, "category": "mental-health"},
    "relationships": [{"organisation": CAMHS, "start": "2025-01-01T00:00:00Z"}],
    "consents": [
        {
            "id": "Y1",
            "status": "given",
            "by": "young-person",
            "recorded_at": "2026-01-01T00:00:00Z",
            "organisation_types": ["camhs"],
            "categories": ["mental-health"],
            "purposes": ["direct-care"],
            "competence": {
                "birth_date": "2012-01-15",
                "assessments": [
                    {
                        "id": "A1",
                        "outcome": "competent",
                        "assessed_at": "2026-02-01T10:00:00Z",
                        "assessed_by": "camhs-clinician C4711",
                        "categories": [],
                    }
                ],
            },
        }
    ],
}


def test_scenarios_carry_competence() -> None:
    scenario = scenario_from_mapping(SCENARIO)
    facts_ = scenario.consents[0].competence
    assert facts_ is not None and facts_.birth_date == FOURTEEN and facts_.assessments[0].id == "A1"
    decision = decide(
        default_policy(), scenario.consents, scenario.relationships, scenario.viewer, scenario.entry, scenario.now
    )
    assert decision.level is Level.FULL and "competence-assessed:A1" in decision.matched_rules
    assert scenario_from_mapping(_with_birth_date(date(2012, 1, 15))).consents[0].competence.birth_date == FOURTEEN  # type: ignore[union-attr]
    for bad, message in (("15/01/2012", "not an ISO 8601 date"), (15, "needs an ISO 8601 date")):
        with pytest.raises(ScenarioError, match=message):
            scenario_from_mapping(_with_birth_date(bad))


def _with_birth_date(value: object) -> dict[str, object]:
    record = dict(SCENARIO["consents"][0])  # type: ignore[index]
    record["competence"] = {"birth_date": value}
    return {**SCENARIO, "consents": [record]}


# --- `onestory policy explain` shows the competence rules and the competence steps -------------------------------


def test_policy_explain_shows_competence() -> None:
    from click.testing import CliRunner

    from hub.commands.policy import policy

    args = [
        "explain",
        "--viewer-role=school-dsl",
        "--viewer-org=100001",
        "--category=pastoral-concern",
        f"--source-org={GP}",
        "--consent=id=P1,status=given,by=parental-responsibility,organisation-types=school,"
        "categories=pastoral-concern,purposes=direct-care,recorded-at=2026-01-01T00:00:00Z",
        "--consent=id=Y1,status=refused,by=young-person,organisation-types=school,recorded-at=2026-02-01T00:00:00Z",
        "--relationship=organisation=100001,start=2025-01-01T00:00:00Z",
        "--now=2026-05-01T12:00:00Z",
    ]
    runner = CliRunner()
    respected = runner.invoke(policy, [*args, "--birth-date=2012-01-15"])
    assert respected.exit_code == 0, respected.output
    assert "level: none" in respected.output and "[competence-refusal-respected]" in respected.output
    assert "competence rules (presumed competent from 16" in respected.output
    assessed_ = runner.invoke(
        policy,
        [*args, "--assessment=id=A1,outcome=not_competent,assessed-at=2026-03-01T00:00:00Z,assessed-by=C4711"],
    )
    assert "level: full" in assessed_.output and "[consent-not-competent]" in assessed_.output
    bad = runner.invoke(policy, [*args, "--birth-date=15/01/2012"])
    assert bad.exit_code == 2 and "not an ISO 8601 date" in bad.output
