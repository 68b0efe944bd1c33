"""Which of a child's consent records hold for one request at one moment.

The rules, in the order a person would apply them:
- nothing applies before it was recorded, or outside its period (withdrawal takes effect the moment it is
  recorded, for reads and projections alike);
- a deny record (refused / withdrawn) overrides the consents of the same or lower authority: a competent
  young person's refusal overrides a parent's consent, a parent cannot override a competent young person;
- a later consent of the same or higher authority supersedes an earlier refusal (people change their minds);
- a withdrawal that names a record ends that record only (anyone may withdraw a record they made themselves);
- a young person's authority is worked out at the decision moment by the policy's competence rules
  (`judge`): assessed competent, or presumed competent from 16, counts as a competent young person; under 16
  and not assessed, their refusal is respected (fail closed) but their consent is only noted, except their own
  request for help (a self-referral), which counts whatever their competence; assessed not competent, the
  person with parental responsibility decides for them;
- a sealed entry is opened only by a competent young person's consent that names its category explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from consent_engine.compiled import CompetenceRules
from consent_engine.decision import Step
from consent_engine.model import ANY, DEPENDS, CompetenceAssessment, ConsentRecord, ConsentStatus

_GIVEN = ConsentStatus.GIVEN

Held = tuple[int, bool, ConsentRecord]
"""A record that holds for this request: (its authority now, whether it may open a sealed entry, the record)."""


def _key(held: Held) -> tuple[int, datetime, str]:
    """Order of preference between records: most authority, then most recent, then id (determinism)."""
    return held[0], held[2].recorded_at, held[2].id


def _deny_key(held: tuple[int, ConsentRecord]) -> tuple[int, datetime, str]:
    return held[0], held[1].recorded_at, held[1].id


def birthday(born: date, years: int) -> date:
    """The day a person born on `born` turns `years` old (born on 29 February: 1 March in other years)."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        return date(born.year + years, 3, 1)


def _said(assessment: CompetenceAssessment) -> str:
    by = f" by {assessment.assessed_by}" if assessment.assessed_by else ""
    return (
        f"assessed{by} on {assessment.assessed_at.date().isoformat()} for {assessment.decision} "
        f"({assessment.framework}, assessment {assessment.id})"
    )


def judge(record: ConsentRecord, rules: CompetenceRules, category: str, now: datetime) -> tuple[int, bool, Step]:
    """A young person's authority for this record at `now` for an entry of `category`, and the step saying why.

    Returns (authority, whether a consent may open a sealed entry, step): 2 with True for a competent young
    person (assessed, or presumed from the policy's age); 2 with False for a refusal respected without an
    assessment or the young person's own request; 0 when the person with parental responsibility decides.
    The latest assessment known at `now` that covers the category decides, except that an assessment made
    before the presumption age does not undo the presumption.
    """
    age = rules.presumed_from_age
    facts = record.competence
    born = None if facts is None else facts.birth_date
    presumed_from = None if born is None else birthday(born, age)
    presumed = presumed_from is not None and now.date() >= presumed_from
    latest: CompetenceAssessment | None = None
    for assessment in record._assessments:
        if assessment.effective_at > now or not (
            not assessment.categories or category in assessment.categories or ANY in assessment.categories
        ):
            continue
        if presumed and presumed_from is not None and assessment.assessed_at.date() < presumed_from:
            continue  # made before the young person reached the presumption age
        if latest is None or (assessment.assessed_at, assessment.effective_at, assessment.id) > (
            latest.assessed_at,
            latest.effective_at,
            latest.id,
        ):
            latest = assessment
    what = f"{record.status.value if record.status is not _GIVEN else 'consent'} record {record.id}"
    own = record.status is _GIVEN and category in rules.own_request_categories
    own_step = (
        "competence-own-request",
        f"{what} is the young person's own request for {category} (e.g. a self-referral): "
        f"it reaches the service they asked for, whatever their competence",
    )
    if latest is not None:
        if latest.competent:
            return (
                2,
                True,
                (
                    f"competence-assessed:{latest.id}",
                    f"{what}: the young person was {_said(latest)}: competent, so their decision counts",
                ),
            )
        if own:
            return 2, False, own_step
        return (
            0,
            False,
            (
                "consent-not-competent",
                f"{what}: the young person was {_said(latest)}: not competent, so it is noted and "
                f"the person with parental responsibility decides",
            ),
        )
    if presumed:
        return (
            2,
            True,
            (
                "competence-presumed",
                f"{what}: the young person is {age} or over at this moment: presumed competent at {age}",
            ),
        )
    under = f"a young person under {age}" if born is not None else f"a young person of unknown age (under {age})"
    if record.status is not _GIVEN:
        return (
            2,
            False,
            (
                "competence-refusal-respected",
                f"{what}: {record.status.value} by {under} not assessed: respected until an assessment says otherwise",
            ),
        )
    if own:
        return 2, False, own_step
    return (
        0,
        False,
        (
            "consent-not-competent",
            f"{what} is by {under} not assessed as competent: noted; the person with parental responsibility decides",
        ),
    )


def evaluate_consents(
    consents: Sequence[ConsentRecord],
    organisation: str,
    organisation_type: str,
    category: str,
    purpose: str,
    child_id: str,
    now: datetime,
    sealed: bool,
    steps: list[Step],
    competence: CompetenceRules,
) -> tuple[ConsentRecord | None, ConsentRecord | None]:
    """Return (the consent to rely on, the refusal that still stands), either possibly None.

    Notes on records that were considered but not relied on, and how each young person's authority was
    worked out, are appended to `steps`.
    """
    givens: list[Held] | None = None
    denies: list[tuple[int, ConsentRecord]] | None = None
    targeted: list[tuple[int, ConsentRecord]] | None = None
    for record in consents:
        authority = record.authority
        if record.withdraws is not None and record.status is not _GIVEN:
            if record.recorded_at <= now and (record.child_id is None or record.child_id == child_id):
                if authority == DEPENDS:
                    authority = judge(record, competence, category, now)[0]
                if targeted is None:
                    targeted = []
                targeted.append((authority, record))
            continue
        if not (record._any_category or category in record.categories):
            continue
        if not (
            record._any_recipient
            or organisation in record.organisations
            or organisation_type in record.organisation_types
        ):
            continue
        if not (record._any_purpose or purpose in record.purposes):
            continue
        if (
            record.recorded_at > now
            or (record.start is not None and now < record.start)
            or (record.end is not None and now >= record.end)
        ):
            continue
        if record.child_id is not None and record.child_id != child_id:
            steps.append(("consent-other-child", f"consent record {record.id} is about another child: ignored"))
            continue
        opens = authority == 2
        if authority == DEPENDS:
            authority, opens, step = judge(record, competence, category, now)
            steps.append(step)
            if authority == 0:
                continue
        if record.status is _GIVEN:
            if givens is None:
                givens = []
            givens.append((authority, opens, record))
        else:
            if denies is None:
                denies = []
            denies.append((authority, record))
    if denies is None:
        if givens is None:
            return None, None
        if targeted is None and not sealed:  # the common case: consents, no refusal
            return max(givens, key=_key)[2], None
    givens = givens or []
    if targeted:
        givens = [g for g in givens if not _withdrawn(g, targeted, steps)]
    active = [
        (authority, deny)
        for authority, deny in denies or ()
        if not any(g[0] >= authority and g[2].recorded_at > deny.recorded_at for g in givens)
    ]
    best: Held | None = None
    for held in givens:
        authority, opens, given = held
        deny = next((d for a, d in active if a >= authority), None)
        if deny is not None:
            steps.append((deny.rule, f"consent record {given.id} is overridden by {deny.rule}"))
        elif sealed and not (opens and category in given.categories):
            steps.append(
                (
                    "sealed-needs-explicit-consent",
                    f"consent record {given.id} does not open a sealed "
                    f"entry: that needs the competent young person's "
                    f"consent naming '{category}'",
                )
            )
        elif best is None or _key(held) > _key(best):
            best = held
    refusal = max(active, key=_deny_key, default=None)
    return (None if best is None else best[2]), (None if refusal is None else refusal[1])


def _withdrawn(held: Held, targeted: list[tuple[int, ConsentRecord]], steps: list[Step]) -> bool:
    authority, _, given = held
    for withdrawing, withdrawal in targeted:
        if withdrawal.withdraws == given.id and (withdrawing >= authority or withdrawal.by is given.by):
            steps.append((withdrawal.rule, f"consent record {given.id} was withdrawn by record {withdrawal.id}"))
            return True
    return False
