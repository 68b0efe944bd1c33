"""The consent decision: what one viewer may see of one entry, now, and the derivation of why.

Order of evaluation (each step can only lower the level, and every failure is NONE, i.e. fail closed):
1. unknown organisation, role, purpose (or one the role may not act for) or category -> NONE;
2. the source organisation sees its own entries, within its role's need to know (the matrix);
3. minimum necessary: the role x purpose x category matrix caps the level (audit: metadata only);
4. explicit deny and limit rules lower the cap: a deny beats any permit, consent and lawful bases included;
5. a basis is needed: a live consent record (a young person's record counts by the policy's competence rules,
   worked out at `now`: see consent_state; sealed entries: only the competent young person's explicit
   consent), a lawful basis recorded at source (refused consent blocks it unless the basis overrides a refusal,
   as safeguarding does, and only for the purposes it covers) or a standing basis of the policy;
6. a legitimate relationship is needed (unless the basis says otherwise); without one, only a valid
   break-glass opens the entry, at the level the policy allows break-glass; every break-glass raises an alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from consent_engine.compiled import Cell, LawfulBasis, Organisation, Policy
from consent_engine.consent_state import evaluate_consents
from consent_engine.decision import NO_BASIS, NO_RELATIONSHIP, OWN_BASIS, Decision, Step, make_decision
from consent_engine.model import (
    ANY,
    LEVELS_BY_RANK,
    ConsentRecord,
    Entry,
    Relationship,
    SharingKind,
    Viewer,
)

_LAWFUL = SharingKind.LAWFUL_BASIS
_SEALED: Step = (
    "sealed",
    "sealed entry: only the recording organisation, unless the young person explicitly consents to more",
)
_UNSET = -2
_NONE = LEVELS_BY_RANK[0]


def decide(
    policy: Policy,
    consents: Sequence[ConsentRecord],
    relationships: Sequence[Relationship],
    viewer: Viewer,
    entry: Entry,
    now: datetime,
) -> Decision:
    """Decide what `viewer` may see of `entry` at `now` (timezone-aware). Pure: no I/O, no clock, no globals."""
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    alert = viewer.break_glass is not None
    organisations = policy.organisations
    org = organisations.get(viewer.organisation)
    cell = policy.cells.get((viewer.role, viewer.purpose, entry.category))
    source = organisations.get(entry.source_organisation)
    if (
        org is None
        or cell is None
        or source is None
        or (viewer.organisation_type is not None and viewer.organisation_type != org.type)
    ):
        return make_decision(_NONE, None, policy.digest, (_unknown(policy, viewer, entry),), None, alert)
    if viewer.organisation == entry.source_organisation:
        own = cell.own[alert]
        if own is not None:
            return own
        return make_decision(LEVELS_BY_RANK[1], OWN_BASIS, policy.digest, cell.own_steps, source.contact, alert)
    cap, fixed, closed, no_relationship, no_basis = cell.by_type[org.type]
    if closed is not None:
        return closed[alert]
    steps: list[Step] = []
    labels = entry.labels
    if cell.org_rules:
        for rule in cell.org_rules:
            if (
                rule.max_rank < cap
                and org.code in (rule.organisations or ())
                and (rule.organisation_types is None or org.type in rule.organisation_types)
            ):
                cap = rule.max_rank
                steps.append(rule.step)
    if labels and cell.label_rules:
        for rule in cell.label_rules:
            if (
                rule.max_rank < cap
                and not (rule.labels or frozenset()).isdisjoint(labels)
                and (rule.organisations is None or org.code in rule.organisations)
                and (rule.organisation_types is None or org.type in rule.organisation_types)
            ):
                cap = rule.max_rank
                steps.append(rule.step)
    if cap == 0:
        return _decision(policy, 0, fixed, steps, None, source, alert)
    sealed = cell.sealed or (bool(labels) and not policy.sealed_labels.isdisjoint(labels))
    if sealed:
        steps.append(_SEALED)
    reach = _UNSET
    if not cell.relationship_free:
        reach = _reach(policy, relationships, viewer, entry, cell, now, steps)
        if reach == 0:
            if len(steps) == 1:  # only "no relationship": the decision is ready-made
                return no_relationship[alert]
            return _decision(policy, 0, fixed, steps, None, source, alert)
    given, refusal = evaluate_consents(
        consents,
        org.code,
        org.type,
        entry.category,
        viewer.purpose,
        entry.child_id,
        now,
        sealed,
        steps,
        policy.competence,
    )
    if given is not None:
        if reach == _UNSET:
            reach = _reach(policy, relationships, viewer, entry, cell, now, steps)
        if reach > 0:
            steps.append(given._step)
            return _decision(policy, cap if cap < reach else reach, fixed, steps, given._step[0], source, alert)
    if entry.sharing_basis.kind is not _LAWFUL and not cell.standing:
        usable: list[LawfulBasis] = []
    else:
        usable = _lawful_bases(policy, cell, org, entry, now, sealed, refusal, steps)
    level, basis = 0, None
    for lawful in usable:
        rank = min(cap, lawful.max_rank)
        if lawful.requires_relationship:
            if reach == _UNSET:
                reach = _reach(policy, relationships, viewer, entry, cell, now, steps)
            rank = min(rank, reach)
        if rank > level:
            level, basis = rank, lawful
    if basis is None:
        if given is None and not usable:
            if not steps and refusal is None:
                return no_basis[alert]
            if refusal is not None:
                steps.append(refusal._step)
            steps.append(NO_BASIS)
        return _decision(policy, 0, fixed, steps, None, source, alert)
    steps.append(basis.applies_step)
    return _decision(policy, level, fixed, steps, basis.basis, source, alert)


def _decision(
    policy: Policy,
    rank: int,
    fixed: tuple[Step, ...],
    steps: list[Step],
    basis: str | None,
    source: Organisation,
    alert: bool,
) -> Decision:
    """The decision for `rank`, derived by the cell's fixed steps then this decision's own steps."""
    derivation = fixed + tuple(steps) if steps else fixed
    if rank <= 0:
        return make_decision(_NONE, None, policy.digest, derivation, None, alert)
    return make_decision(
        LEVELS_BY_RANK[rank], basis, policy.digest, derivation, source.contact if rank == 1 else None, alert
    )


def _unknown(policy: Policy, viewer: Viewer, entry: Entry) -> Step:
    """Say which input the policy does not know; only computed on the (rare) fail-closed path."""
    org = policy.organisations.get(viewer.organisation)
    role = policy.roles.get(viewer.role)
    if org is None:
        return "unknown-organisation", f"organisation '{viewer.organisation}' is not party to this policy"
    if viewer.organisation_type is not None and viewer.organisation_type != org.type:
        return "organisation-type-mismatch", (
            f"organisation '{org.code}' is a {org.type} in this policy, not a {viewer.organisation_type}"
        )
    if entry.source_organisation not in policy.organisations:
        return "unknown-source-organisation", (
            f"source organisation '{entry.source_organisation}' is not party to this policy"
        )
    if role is None:
        return "unknown-role", f"role '{viewer.role}' is not in this policy"
    if viewer.purpose not in policy.purposes:
        return "unknown-purpose", f"purpose '{viewer.purpose}' is not in this policy"
    if viewer.purpose not in role.purposes:
        return "purpose-not-permitted", f"role '{role.name}' may not act for '{viewer.purpose}'"
    return "unknown-category", f"category '{entry.category}' is not in this policy"


def _lawful_bases(
    policy: Policy,
    cell: Cell,
    org: Organisation,
    entry: Entry,
    now: datetime,
    sealed: bool,
    refusal: ConsentRecord | None,
    steps: list[Step],
) -> list[LawfulBasis]:
    """The lawful bases that may open this entry to this viewer: recorded at source, or standing in the policy."""
    out: list[LawfulBasis] = []
    recorded = entry.sharing_basis
    if recorded.kind == _LAWFUL:
        basis = policy.lawful_bases.get(recorded.reference or "")
        if basis is None or basis.standing:
            steps.append(
                (
                    "lawful-basis-unknown",
                    f"lawful basis '{recorded.reference}' recorded at source is not a recorded basis in this policy",
                )
            )
        elif basis.requires_decision and not (
            (recorded.decision_maker or "").strip() and (recorded.reason or "").strip()
        ):
            steps.append(
                (
                    f"{basis.basis}:incomplete",
                    f"lawful basis '{basis.code}' needs who decided and why, and they are not recorded",
                )
            )
        elif recorded.recorded_at is not None and recorded.recorded_at > now:
            steps.append((f"{basis.basis}:not-yet", f"lawful basis '{basis.code}' was recorded after this moment"))
        else:
            out.append(basis)
    out.extend(cell.standing)
    usable: list[LawfulBasis] = []
    for basis in out:
        if cell.purpose not in basis.purposes:
            steps.append(basis.purpose_step)
        elif (
            (basis.roles is not None and cell.role not in basis.roles)
            or (basis.organisation_types is not None and org.type not in basis.organisation_types)
            or (basis.categories is not None and entry.category not in basis.categories)
        ):
            steps.append(basis.scope_step)
        elif sealed:
            steps.append(basis.sealed_step)
        elif refusal is not None and not basis.overrides_refusal:
            steps.append((f"{basis.basis}:refused", f"lawful basis '{basis.code}' does not override {refusal.rule}"))
        else:
            usable.append(basis)
    return usable


def _reach(
    policy: Policy,
    relationships: Sequence[Relationship],
    viewer: Viewer,
    entry: Entry,
    cell: Cell,
    now: datetime,
    steps: list[Step],
) -> int:
    """The most a relationship allows: FULL with a legitimate relationship, else what break-glass allows, else 0."""
    org, role, user, team, child = viewer.organisation, viewer.role, viewer.user_id, viewer.team, entry.child_id
    for rel in relationships:
        if (
            rel.organisation == org
            and rel.start <= now
            and (rel.end is None or now < rel.end)
            and (rel.role is None or rel.role == role)
            and (rel.user_id is None or rel.user_id == user)
            and (rel.team is None or rel.team == team)
            and (rel.child_id is None or rel.child_id == child)
        ):
            return 3
    steps.append(NO_RELATIONSHIP)
    return _break_glass(policy, viewer, entry, cell, now, steps)


def _break_glass(policy: Policy, viewer: Viewer, entry: Entry, cell: Cell, now: datetime, steps: list[Step]) -> int:
    glass, rules = viewer.break_glass, policy.break_glass
    if glass is None:
        return 0
    if rules is None:
        steps.append(("break-glass-refused", "this policy does not allow break-glass"))
        return 0
    problem = None
    if glass.reason not in rules.reasons:
        problem = f"'{glass.reason}' is not a break-glass reason in this policy"
    elif not glass.justification.strip():
        problem = "break-glass needs a free-text justification"
    elif cell.role not in rules.roles or cell.purpose not in rules.purposes:
        problem = f"role '{cell.role}' acting for '{cell.purpose}' may not break glass"
    elif glass.child_id != entry.child_id:
        problem = "break-glass was declared for another child"
    elif not glass.starts_at <= now < glass.expires_at:
        problem = "break-glass is not in force at this moment (not started or expired)"
    elif glass.expires_at - glass.starts_at > rules.max_duration:
        problem = f"break-glass lasts longer than the {rules.max_duration} the policy allows"
    elif not (entry.category in glass.categories or ANY in glass.categories) or not (
        entry.category in rules.categories or ANY in rules.categories
    ):
        problem = f"category '{entry.category}' is outside the break-glass scope"
    if problem is not None:
        steps.append(("break-glass-refused", problem))
        return 0
    steps.append(
        (
            f"break-glass:{glass.reason}",
            f"break-glass ({glass.reason}: {glass.justification.strip()}) "
            f"until {glass.expires_at.isoformat()}, at most "
            f"{rules.max_level.value}; IG alerted",
        )
    )
    return rules.max_rank
