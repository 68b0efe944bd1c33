"""Properties that must hold for every input, checked with hypothesis over the default policy's vocabulary."""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent_engine import (
    ANY,
    BreakGlass,
    Consenter,
    ConsentRecord,
    ConsentStatus,
    Entry,
    Level,
    Relationship,
    SharingBasis,
    SharingKind,
    Viewer,
    decide,
)
from consent_engine.compiled import Policy
from consent_engine.model import LEVELS_BY_RANK
from consent_engine.policy_compile import compile_policy
from consent_engine.policy_parse import parse_spec
from consent_engine.policy_spec import Ref, RuleSpec

from .builders import CHILD, NOW, default_policy, default_text

POLICY = default_policy()
ORGS = sorted(POLICY.organisations)
TYPES = sorted(POLICY.organisation_types)
ROLES = sorted(POLICY.roles)
CATEGORIES = sorted(POLICY.categories)
PURPOSES = sorted(POLICY.purposes)
LABELS = sorted(POLICY.labels)
BASES = sorted(POLICY.lawful_bases)
IDS = [f"C{n}" for n in range(6)]

EXAMPLES = int(os.environ.get("CONSENT_PROPERTY_EXAMPLES", "150"))
"""Examples per property; raise it (e.g. 5000) for a thorough run before a release."""
PROPERTY_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

times = st.integers(min_value=-400 * 24, max_value=48).map(lambda hours: NOW + timedelta(hours=hours))
optional_times = st.none() | times


def subsets(values: list[str], wildcard: bool = True) -> st.SearchStrategy[frozenset[str]]:
    pool = [*values, ANY] if wildcard else values
    return st.frozensets(st.sampled_from(pool), max_size=4)


ROLES_BY_TYPE = {
    "gp-practice": ["gp"],
    "camhs": ["camhs-clinician"],
    "acute-trust": ["camhs-clinician"],
    "community-health": ["school-nurse"],
    "school": ["school-dsl", "teacher"],
    "local-authority": ["social-worker"],
    "vcse": ["vcse-worker"],
    "hub": ["ig-officer", "system"],
}


@cache
def scope(values: tuple[str, ...], relevant: str) -> st.SearchStrategy[frozenset[str]]:
    """A scope set that often covers the value that matters to this decision, so decisions are interesting."""
    some = subsets(list(values))
    return st.one_of(
        some, st.just(frozenset({relevant})), st.just(frozenset({ANY})), some.map(lambda s: s | {relevant})
    )


@cache
def pool(values: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.sampled_from(values)


GLASS = (
    st.none()
    | st.none()
    | st.builds(
        BreakGlass,
        reason=st.sampled_from([*(POLICY.break_glass.reasons if POLICY.break_glass else ()), "curiosity"]),
        justification=st.sampled_from(["", "collapsed in clinic"]),
        child_id=st.sampled_from([CHILD, "child-2"]),
        starts_at=times,
        expires_at=times,
        categories=scope(tuple(CATEGORIES), ANY),
    )
)
SHARING = st.one_of(
    st.builds(SharingBasis, kind=st.sampled_from([SharingKind.NONE, SharingKind.CONSENT])),
    st.builds(
        SharingBasis,
        kind=st.just(SharingKind.LAWFUL_BASIS),
        reference=st.sampled_from([*BASES, "x"]),
        decision_maker=st.sampled_from([None, "Jo, DSL", "Jo, DSL"]),
        reason=st.sampled_from([None, "risk of harm", "risk of harm"]),
        recorded_at=optional_times,
    ),
)
LABEL_SETS = st.just(()) | st.lists(st.sampled_from(LABELS), max_size=2, unique=True).map(tuple)
CHILDREN = st.none() | st.sampled_from([CHILD, CHILD, "child-2"])


@cache
def consent_lists(org: str, org_type: str, category: str, purpose: str) -> st.SearchStrategy[list[ConsentRecord]]:
    return st.lists(
        st.builds(
            ConsentRecord,
            id=st.sampled_from(IDS),
            status=st.sampled_from(list(ConsentStatus)),
            by=st.sampled_from(list(Consenter)),
            recorded_at=times,
            competent=st.booleans(),
            organisations=scope(tuple(ORGS), org),
            organisation_types=scope(tuple(TYPES), org_type),
            categories=scope(tuple(CATEGORIES), category),
            purposes=scope(tuple(PURPOSES), purpose),
            start=st.none() | optional_times,
            end=st.none() | st.none() | times,
            withdraws=st.none() | st.none() | st.sampled_from(IDS),
            child_id=CHILDREN,
        ),
        max_size=4,
    )


@cache
def relationship_lists(org: str) -> st.SearchStrategy[list[Relationship]]:
    return st.lists(
        st.builds(
            Relationship,
            organisation=st.sampled_from(ORGS) | st.just(org),
            start=times,
            end=st.none() | st.none() | times,
            role=st.none() | st.none() | st.sampled_from(ROLES),
            child_id=CHILDREN,
        ),
        max_size=3,
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[ConsentRecord], list[Relationship], Viewer, Entry]:
    """Mostly plausible decisions (a role that fits its organisation, consents and relationships that often
    apply) with a share of implausible and unknown inputs, so that every branch of the engine is exercised."""
    org = draw(pool((*ORGS, *ORGS, *ORGS, "NOT-A-PARTY")))
    org_type = POLICY.organisations[org].type if org in POLICY.organisations else "school"
    role = draw(pool((*ROLES_BY_TYPE[org_type] * 6, *ROLES, "surgeon")))
    purposes = tuple(sorted(POLICY.roles[role].purposes)) if role in POLICY.roles else tuple(PURPOSES)
    purpose = draw(pool((*purposes * 6, *PURPOSES)))
    viewer = Viewer("user", org, role, purpose, draw(GLASS))
    category = draw(pool((*CATEGORIES, "horoscope")))
    source = draw(pool((*(o for o in ORGS if o != org), *(o for o in ORGS if o != org), *ORGS)))
    entry = Entry("e1", CHILD, source, category, draw(LABEL_SETS), draw(SHARING))
    consents_ = draw(consent_lists(org, org_type, category, purpose))
    relationships_ = draw(relationship_lists(org))
    if draw(st.integers(0, 9)) < 7:  # usually the viewer's organisation is involved with the child
        relationships_.insert(draw(st.integers(0, len(relationships_))), Relationship(org, NOW - timedelta(days=90)))
    if draw(st.integers(0, 9)) < 6:  # and usually someone has consented to something relevant
        consents_.insert(
            draw(st.integers(0, len(consents_))),
            ConsentRecord(
                "C9",
                ConsentStatus.GIVEN,
                draw(st.sampled_from(list(Consenter))),
                NOW - timedelta(days=30),
                draw(st.booleans()),
                organisation_types=frozenset({org_type}),
                categories=frozenset({category}),
                purposes=frozenset({purpose}),
            ),
        )
    return consents_, relationships_, viewer, entry


inputs = scenarios()


def denies(record: ConsentRecord) -> st.SearchStrategy[ConsentRecord]:
    """A refusal or withdrawal recorded by now (not after), possibly scoped, possibly targeting `record`."""
    return st.builds(
        ConsentRecord,
        id=st.just("D1"),
        status=st.sampled_from([ConsentStatus.REFUSED, ConsentStatus.WITHDRAWN]),
        by=st.sampled_from(list(Consenter)),
        recorded_at=times.filter(lambda t: t <= NOW),
        competent=st.booleans(),
        organisations=subsets(ORGS),
        organisation_types=subsets(TYPES),
        categories=subsets(CATEGORIES),
        purposes=subsets(PURPOSES),
        withdraws=st.sampled_from([None, record.id]),
    )


def level(
    policy: Policy, consents_: list[ConsentRecord], rels: list[Relationship], viewer: Viewer, entry: Entry
) -> Level:
    return decide(policy, consents_, rels, viewer, entry, NOW).level


def sealed(entry: Entry) -> bool:
    return entry.category in POLICY.sealed_categories or not POLICY.sealed_labels.isdisjoint(entry.labels)


@PROPERTY_SETTINGS
@given(inputs, st.randoms(use_true_random=False))
def test_same_inputs_same_decision(args: tuple, random: object) -> None:
    consents_, rels, viewer, entry = args
    first = decide(POLICY, consents_, rels, viewer, entry, NOW)
    assert decide(POLICY, list(consents_), list(rels), viewer, entry, NOW) == first
    shuffled_c, shuffled_r = list(consents_), list(rels)
    random.shuffle(shuffled_c)  # type: ignore[attr-defined]
    random.shuffle(shuffled_r)  # type: ignore[attr-defined]
    again = decide(POLICY, shuffled_c, shuffled_r, viewer, entry, NOW)
    assert (again.level, again.basis, again.alert, again.contact) == (
        first.level,
        first.basis,
        first.alert,
        first.contact,
    )


@PROPERTY_SETTINGS
@given(inputs, st.data())
def test_adding_a_refusal_or_withdrawal_never_widens(args: tuple, data: st.DataObject) -> None:
    consents_, rels, viewer, entry = args
    target = consents_[0] if consents_ else ConsentRecord("C0", ConsentStatus.GIVEN, Consenter.YOUNG_PERSON, NOW)
    extra = data.draw(denies(target))
    assert level(POLICY, [*consents_, extra], rels, viewer, entry) <= level(POLICY, consents_, rels, viewer, entry)


@PROPERTY_SETTINGS
@given(inputs, st.data())
def test_withdrawing_consent_never_widens(args: tuple, data: st.DataObject) -> None:
    consents_, rels, viewer, entry = args
    before = level(POLICY, consents_, rels, viewer, entry)
    given_ = [c for c in consents_ if c.status is ConsentStatus.GIVEN]
    if not given_:
        return
    record = data.draw(st.sampled_from(given_))
    moment = data.draw(times.filter(lambda t: t <= NOW))
    withdrawal = ConsentRecord("W1", ConsentStatus.WITHDRAWN, record.by, moment, record.competent, withdraws=record.id)
    assert level(POLICY, [*consents_, withdrawal], rels, viewer, entry) <= before
    replaced = [dataclasses.replace(c, status=ConsentStatus.WITHDRAWN) if c is record else c for c in consents_]
    assert level(POLICY, replaced, rels, viewer, entry) <= before
    removed = [c for c in consents_ if c is not record]
    assert level(POLICY, removed, rels, viewer, entry) <= before


rule_specs = st.builds(
    RuleSpec,
    id=st.just(Ref("extra-rule", 1)),
    description=st.just(""),
    max_level=st.sampled_from([Level.NONE, Level.FLAG, Level.SUMMARY]),
    roles=st.none()
    | st.lists(st.sampled_from(ROLES), min_size=1, max_size=3).map(lambda v: tuple(Ref(x, 1) for x in v)),
    organisation_types=st.none()
    | st.lists(st.sampled_from(TYPES), min_size=1, max_size=3).map(lambda v: tuple(Ref(x, 1) for x in v)),
    organisations=st.none()
    | st.lists(st.sampled_from(ORGS), min_size=1, max_size=3).map(lambda v: tuple(Ref(x, 1) for x in v)),
    categories=st.none()
    | st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=4).map(lambda v: tuple(Ref(x, 1) for x in v)),
    purposes=st.none()
    | st.lists(st.sampled_from(PURPOSES), min_size=1, max_size=2).map(lambda v: tuple(Ref(x, 1) for x in v)),
    labels=st.none()
    | st.lists(st.sampled_from(LABELS), min_size=1, max_size=2).map(lambda v: tuple(Ref(x, 1) for x in v)),
)
BASE_SPEC = parse_spec(default_text())[0]


@settings(max_examples=max(10, EXAMPLES // 5), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_specs, st.lists(inputs, min_size=8, max_size=8))
def test_adding_a_deny_rule_never_widens(rule: RuleSpec, cases: list[tuple]) -> None:
    assert BASE_SPEC is not None
    stricter = compile_policy(dataclasses.replace(BASE_SPEC, rules=(*BASE_SPEC.rules, rule)))
    for consents_, rels, viewer, entry in cases:
        assert level(stricter, consents_, rels, viewer, entry) <= level(POLICY, consents_, rels, viewer, entry)


@PROPERTY_SETTINGS
@given(inputs)
def test_no_level_above_none_without_consent_or_lawful_basis(args: tuple) -> None:
    consents_, rels, viewer, entry = args
    decision = decide(POLICY, consents_, rels, viewer, entry, NOW)
    if decision.level is Level.NONE:
        assert decision.basis is None
        return
    own = viewer.organisation == entry.source_organisation
    given_ids = {f"consent:{c.id}" for c in consents_ if c.status is ConsentStatus.GIVEN and c.recorded_at <= NOW}
    recorded = (
        {f"lawful-basis:{entry.sharing_basis.reference}"}
        if entry.sharing_basis.kind is SharingKind.LAWFUL_BASIS
        else set()
    )
    standing = {b.basis for b in POLICY.lawful_bases.values() if b.standing}
    assert decision.basis in ({"own-organisation"} if own else set()) | given_ids | recorded | standing
    if not own:
        assert decision.basis != "own-organisation"
    if decision.basis and decision.basis.startswith("lawful-basis:") and not own:
        assert viewer.purpose in POLICY.lawful_bases[decision.basis.split(":", 1)[1]].purposes


@PROPERTY_SETTINGS
@given(inputs)
def test_sealed_entries_never_leak_without_explicit_consent(args: tuple) -> None:
    consents_, rels, viewer, entry = args
    if not sealed(entry) or viewer.organisation == entry.source_organisation:
        return
    decision = decide(POLICY, consents_, rels, viewer, entry, NOW)
    if decision.level is Level.NONE:
        return
    explicit = [
        c
        for c in consents_
        if f"consent:{c.id}" == decision.basis
        and c.status is ConsentStatus.GIVEN
        and c.by is Consenter.YOUNG_PERSON
        and c.competent
        and entry.category in c.categories
        and c.recorded_at <= NOW
    ]
    assert explicit, decision.explanation


@PROPERTY_SETTINGS
@given(inputs)
def test_limits_always_hold(args: tuple) -> None:
    consents_, rels, viewer, entry = args
    decision = decide(POLICY, consents_, rels, viewer, entry, NOW)
    cell = POLICY.cells.get((viewer.role, viewer.purpose, entry.category))
    cap = LEVELS_BY_RANK[cell.own_cap] if cell else Level.NONE
    assert decision.level <= cap  # minimum necessary, even for the recording organisation
    if viewer.purpose == "audit":
        assert decision.level <= Level.FLAG  # metadata only
    assert decision.alert is (viewer.break_glass is not None)
    if decision.level is Level.NONE:
        assert decision.practitioner_message == "No information is available to you."
    assert (decision.contact is not None) is (decision.level is Level.FLAG)
    if (
        viewer.break_glass is None
        and viewer.organisation != entry.source_organisation
        and decision.level > Level.NONE
        and decision.basis
        and not decision.basis.endswith("ig-audit")
    ):
        assert any(r.organisation == viewer.organisation for r in rels)  # a legitimate relationship
