"""Turn a checked `PolicySpec` into the compiled `Policy` that `decide` reads."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from consent_engine.compiled import (
    AUDIT,
    BreakGlassPolicy,
    Cell,
    CompetenceRules,
    ForType,
    LabelRule,
    LawfulBasis,
    LimitRule,
    Organisation,
    Policy,
    Role,
)
from consent_engine.decision import NO_BASIS, NO_RELATIONSHIP, OWN_BASIS, OWN_STEP, Decision, Step
from consent_engine.directory import Directory
from consent_engine.model import ANY, LEVELS_BY_RANK, Contact, Level
from consent_engine.policy_spec import COMPETENCE_RULES, CompetenceSpec, LawfulBasisSpec, PolicySpec, Ref, RuleSpec

_FLAG = Level.FLAG.rank

DEFAULT_COMPETENCE_TEXTS = {
    "assessment": "A competence assessment (Gillick or Fraser) is an event a practitioner records: who assessed, "
    "when, for which decision and which categories, and the outcome. The latest assessment known at the decision "
    "moment that covers the entry's category decides.",
    "presumed": "A young person aged {age} or over at the decision moment is presumed competent, unless an "
    "assessment made since their birthday at {age} says they are not.",
    "refusal": "Under {age}, a young person's refusal or withdrawal is respected from the moment it is recorded "
    "(fail closed: it blocks what it names, with a competent young person's authority), until an assessment says "
    "they were not competent.",
    "consent": "Under {age}, a young person's consent counts once an assessment records them as competent; before "
    "that it is noted and the person with parental responsibility decides.",
    "own-request": "A young person's own request for help ({categories}) always reaches the service they asked "
    "for: their consent for it counts whatever their competence.",
    "parental-responsibility": "A person with parental responsibility decides for a young person who is not "
    "competent. A competent young person's refusal beats a parent's consent; a parent cannot override a competent "
    "young person.",
}
"""The plain words of each competence rule, for a policy that does not state them itself."""


def _competence(spec: CompetenceSpec | None) -> CompetenceRules:
    age = 16 if spec is None else spec.presumed_from_age
    own = frozenset() if spec is None else _values(spec.own_request_categories)
    given = {} if spec is None else {named.name.value: named.description for named in spec.texts}
    names = ", ".join(sorted(own)) or "none in this policy"
    texts = {
        name: given.get(name) or DEFAULT_COMPETENCE_TEXTS[name].format(age=age, categories=names)
        for name in COMPETENCE_RULES
    }
    return CompetenceRules(age, own, "" if spec is None else spec.description, texts)


def _set(refs: tuple[Ref, ...] | None) -> frozenset[str] | None:
    return None if refs is None else frozenset(ref.value for ref in refs)


def _values(refs: tuple[Ref, ...]) -> frozenset[str]:
    return frozenset(ref.value for ref in refs)


def _rule(spec: RuleSpec) -> LimitRule:
    what = "denies" if spec.max_level is Level.NONE else f"limits to {spec.max_level.value}"
    detail = spec.description or f"explicit rule {what}"
    return LimitRule(
        id=spec.id.value,
        description=spec.description,
        max_level=spec.max_level,
        max_rank=spec.max_level.rank,
        roles=_set(spec.roles),
        organisation_types=_set(spec.organisation_types),
        organisations=_set(spec.organisations),
        categories=_set(spec.categories),
        purposes=_set(spec.purposes),
        labels=_set(spec.labels),
        step=(spec.id.value, f"{detail} ({what})"),
    )


def _basis(spec: LawfulBasisSpec) -> LawfulBasis:
    code = spec.code.value
    rule = f"lawful-basis:{code}"
    purposes = ", ".join(sorted(ref.value for ref in spec.purposes))
    return LawfulBasis(
        code=spec.code.value,
        description=spec.description,
        standing=spec.standing,
        purposes=_values(spec.purposes),
        roles=_set(spec.roles),
        organisation_types=_set(spec.organisation_types),
        categories=_set(spec.categories),
        requires_decision=spec.requires_decision,
        overrides_refusal=spec.overrides_refusal,
        requires_relationship=spec.requires_relationship,
        max_level=spec.max_level,
        max_rank=spec.max_level.rank,
        basis=rule,
        applies_step=(rule, f"lawful basis '{code}' applies" + (f": {spec.description}" if spec.description else "")),
        purpose_step=(f"{rule}:purpose", f"lawful basis '{code}' only opens entries to viewers acting for {purposes}"),
        scope_step=(f"{rule}:scope", f"lawful basis '{code}' does not cover this role, organisation type or category"),
        sealed_step=(f"{rule}:sealed", f"lawful basis '{code}' cannot open a sealed entry"),
    )


def _matches(values: frozenset[str] | None, value: str) -> bool:
    return values is None or value in values


def policy_digest(spec: PolicySpec, directory: Directory | None) -> str:
    """The hash a decision records: the policy's, combined with the directory's (a type change changes decisions)."""
    if directory is None:
        return spec.digest
    return hashlib.sha256(f"{spec.digest}:{directory.digest}".encode()).hexdigest()


def compile_policy(spec: PolicySpec, directory: Directory | None = None) -> Policy:
    """Build the lookups, with organisations (code -> type, name, contact) from the directory.

    The spec must already have passed `check_spec` with the same directory.
    """
    organisations = {
        org.code: Organisation(org.code, org.name, org.type, Contact(org.code, org.name, org.contact), org.code_system)
        for org in directory or ()
    }
    digest = policy_digest(spec, directory)
    roles = {role.name.value: Role(role.name.value, role.description, _values(role.purposes)) for role in spec.roles}
    categories = {named.name.value: named.description for named in spec.categories}
    matrix = {(c.role.value, c.purpose.value, c.category.value): c.level for c in spec.matrix}
    rules = tuple(_rule(rule) for rule in spec.rules)
    bases = {basis.code.value: _basis(basis) for basis in spec.lawful_bases}
    sealed = _values(spec.sealed_categories)
    org_types = [named.name.value for named in spec.organisation_types]
    cells: dict[tuple[str, str, str], Cell] = {}
    for role in roles.values():
        for purpose in sorted(role.purposes):
            for category in categories:
                key = (role.name, purpose, category)
                cells[key] = _cell(key, matrix, rules, bases, category in sealed, org_types, digest)
    bg = spec.break_glass
    return Policy(
        name=spec.name,
        version=spec.version,
        digest=digest,
        source=spec.source,
        description=spec.description,
        purposes={named.name.value: named.description for named in spec.purposes},
        organisation_types={named.name.value: named.description for named in spec.organisation_types},
        organisations=organisations,
        roles=roles,
        categories=categories,
        labels={named.name.value: named.description for named in spec.labels},
        sealed_categories=sealed,
        sealed_labels=_values(spec.sealed_labels),
        matrix=matrix,
        rules=rules,
        lawful_bases=bases,
        break_glass=None
        if bg is None
        else BreakGlassPolicy(
            reasons={named.name.value: named.description for named in bg.reasons},
            roles=_values(bg.roles),
            purposes=_values(bg.purposes),
            categories=_values(bg.categories),
            max_level=bg.max_level,
            max_rank=bg.max_level.rank,
            max_duration=timedelta(minutes=bg.max_minutes),
        ),
        labelling=tuple(
            LabelRule(rule.id.value, rule.system, frozenset(rule.codes), rule.prefixes, _values(rule.labels))
            for rule in spec.labelling
        ),
        cells=cells,
        competence=_competence(spec.competence),
    )


def _refused(digest: str, derivation: tuple[Step, ...]) -> tuple[Decision, Decision]:
    """A ready-made NONE decision, without and with break-glass declared."""
    return (
        Decision(Level.NONE, None, digest, derivation, None, False),
        Decision(Level.NONE, None, digest, derivation, None, True),
    )


def _cell(
    key: tuple[str, str, str],
    matrix: dict[tuple[str, str, str], Level],
    rules: tuple[LimitRule, ...],
    bases: dict[str, LawfulBasis],
    sealed: bool,
    org_types: list[str],
    digest: str,
) -> Cell:
    """Fold everything that does not depend on the child into the cell, per organisation type."""
    role, purpose, category = key
    level = matrix.get(key)
    cell_id = f"matrix:{role}/{purpose}/{category}"
    if level is None:
        level = matrix.get((role, purpose, ANY))
        cell_id = f"matrix:{role}/{purpose}/{ANY}"
    if level is None:
        level = Level.NONE
        cell_id = f"matrix:{role}/{purpose}/-"
    steps: list[Step] = [
        (cell_id, f"minimum necessary: {role} acting for {purpose} may see {category} at most as {level.value}")
    ]
    cap = level.rank
    if purpose == AUDIT and cap > _FLAG:
        cap = _FLAG
        steps.append(("audit-metadata-only", "acting for audit: metadata only, never clinical content (flag)"))
    own_cap, own_steps = cap, tuple(steps)
    org_rules: list[LimitRule] = []
    label_rules: list[LimitRule] = []
    type_rules: list[LimitRule] = []
    for rule in rules:
        if not (
            _matches(rule.roles, role) and _matches(rule.purposes, purpose) and _matches(rule.categories, category)
        ):
            continue
        if rule.labels is not None:
            label_rules.append(rule)
        elif rule.organisations is not None:
            org_rules.append(rule)
        elif rule.organisation_types is not None:
            type_rules.append(rule)
        elif rule.max_rank < cap:
            cap = rule.max_rank
            steps.append(rule.step)
    by_type: dict[str, ForType] = {}
    for org_type in org_types:
        type_cap, type_steps = cap, list(steps)
        for rule in type_rules:
            if org_type in (rule.organisation_types or ()) and rule.max_rank < type_cap:
                type_cap = rule.max_rank
                type_steps.append(rule.step)
        fixed = tuple(type_steps)
        by_type[org_type] = ForType(
            type_cap,
            fixed,
            _refused(digest, fixed) if type_cap == 0 else None,
            _refused(digest, (*fixed, NO_RELATIONSHIP)),
            _refused(digest, (*fixed, NO_BASIS)),
        )
    standing = tuple(
        basis
        for basis in bases.values()
        if basis.standing
        and purpose in basis.purposes
        and _matches(basis.roles, role)
        and _matches(basis.categories, category)
    )
    relationship_free = any(
        not basis.requires_relationship for basis in bases.values() if not basis.standing or basis in standing
    )
    own_steps = (*own_steps, OWN_STEP)
    own: tuple[Decision | None, Decision | None] = (None, None)
    if own_cap != _FLAG:
        level = LEVELS_BY_RANK[own_cap]
        basis = OWN_BASIS if own_cap else None
        own = (
            Decision(level, basis, digest, own_steps, None, False),
            Decision(level, basis, digest, own_steps, None, True),
        )
    return Cell(
        role,
        purpose,
        category,
        own_cap,
        own_steps,
        own,
        by_type,
        tuple(org_rules),
        tuple(label_rules),
        sealed,
        standing,
        relationship_free,
    )
