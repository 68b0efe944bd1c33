"""Which of a child's consent records hold for one request at one moment.

The rules, in the order a person would apply them:
- nothing applies before it was recorded, or outside its period (withdrawal takes effect the moment it is
  recorded, for reads and projections alike);
- a deny record (refused / withdrawn) overrides the consents of the same or lower authority: a competent
  young person's refusal overrides a parent's consent, a parent cannot override a competent young person;
- a later consent of the same or higher authority supersedes an earlier refusal (people change their minds);
- a withdrawal that names a record ends that record only;
- a young person not recorded as competent can neither give nor refuse consent here: the person with parental
  responsibility decides for them;
- a sealed entry is opened only by a competent young person's consent that names its category explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from consent_engine.decision import Step
from consent_engine.model import ConsentRecord, ConsentStatus

_GIVEN = ConsentStatus.GIVEN


def _key(record: ConsentRecord) -> tuple[int, datetime, str]:
    """Order of preference between records: most authority, then most recent, then id (determinism)."""
    return record.authority, record.recorded_at, record.id


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
) -> tuple[ConsentRecord | None, ConsentRecord | None]:
    """Return (the consent to rely on, the refusal that still stands), either possibly None.

    Notes on records that were considered but not relied on are appended to `steps`.
    """
    givens: list[ConsentRecord] | None = None
    denies: list[ConsentRecord] | None = None
    targeted: list[ConsentRecord] | None = None
    for record in consents:
        if record.withdraws is not None and record.status is not _GIVEN:
            if record.recorded_at <= now and (record.child_id is None or record.child_id == child_id):
                if targeted is None:
                    targeted = []
                targeted.append(record)
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
        if record.authority == 0:
            steps.append(
                (
                    "consent-not-competent",
                    f"consent record {record.id} is by a young person not recorded "
                    f"as competent: the person with parental responsibility decides",
                )
            )
        elif record.status is _GIVEN:
            if givens is None:
                givens = []
            givens.append(record)
        else:
            if denies is None:
                denies = []
            denies.append(record)
    if denies is None:
        if givens is None:
            return None, None
        if targeted is None and not sealed:  # the common case: consents, no refusal
            return max(givens, key=_key), None
    givens = givens or []
    if targeted:
        givens = [g for g in givens if not _withdrawn(g, targeted, steps)]
    active = [
        d for d in denies or () if not any(g.authority >= d.authority and g.recorded_at > d.recorded_at for g in givens)
    ]
    best: ConsentRecord | None = None
    for given in givens:
        authority = given.authority
        deny = next((d for d in active if d.authority >= authority), None)
        if deny is not None:
            steps.append((deny.rule, f"consent record {given.id} is overridden by {deny.rule}"))
        elif sealed and not (authority == 2 and category in given.categories):
            steps.append(
                (
                    "sealed-needs-explicit-consent",
                    f"consent record {given.id} does not open a sealed "
                    f"entry: that needs the competent young person's "
                    f"consent naming '{category}'",
                )
            )
        elif best is None or _key(given) > _key(best):
            best = given
    return best, max(active, key=_key, default=None)


def _withdrawn(given: ConsentRecord, targeted: list[ConsentRecord], steps: list[Step]) -> bool:
    for withdrawal in targeted:
        if withdrawal.withdraws == given.id and withdrawal.authority >= given.authority:
            steps.append((withdrawal.rule, f"consent record {given.id} was withdrawn by record {withdrawal.id}"))
            return True
    return False
