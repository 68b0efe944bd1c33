"""The compiled policy: what `decide` reads, precomputed once so that a decision is a few dict lookups.

Everything that does not depend on the child (the role x purpose x category cap, the unconditional deny and
limit rules, sealing by category, the standing lawful bases, even the derivation text of those steps) is
folded into one `Cell` per (role, purpose, category) at parse time. A missing cell means an unknown role,
purpose or category, or a purpose the role may not act for: the decision fails closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

from consent_engine.decision import Decision, Step
from consent_engine.model import Contact, Level

AUDIT = "audit"
"""The purpose of use under which only metadata (FLAG) is ever shown, whatever the policy says."""


@dataclass(frozen=True, slots=True, eq=False)
class Organisation:
    code: str
    name: str
    type: str
    contact: Contact
    code_system: str = ""  # the directory's code system for `code` (ODS, URN, LA code, ...); "" if not known


@dataclass(frozen=True, slots=True, eq=False)
class Role:
    name: str
    description: str
    purposes: frozenset[str]


@dataclass(frozen=True, slots=True, eq=False)
class LimitRule:
    """An explicit deny (max_rank 0) or limit. None conditions match everything."""

    id: str
    description: str
    max_level: Level
    max_rank: int
    roles: frozenset[str] | None
    organisation_types: frozenset[str] | None
    organisations: frozenset[str] | None
    categories: frozenset[str] | None
    purposes: frozenset[str] | None
    labels: frozenset[str] | None
    step: Step


@dataclass(frozen=True, slots=True, eq=False)
class LawfulBasis:
    code: str
    description: str
    standing: bool
    purposes: frozenset[str]
    roles: frozenset[str] | None
    organisation_types: frozenset[str] | None
    categories: frozenset[str] | None
    requires_decision: bool
    overrides_refusal: bool
    requires_relationship: bool
    max_level: Level
    max_rank: int
    basis: str
    """"lawful-basis:<code>", prebuilt for decisions, like the derivation steps below."""
    applies_step: Step
    purpose_step: Step
    scope_step: Step
    sealed_step: Step


@dataclass(frozen=True, slots=True, eq=False)
class BreakGlassPolicy:
    reasons: Mapping[str, str]
    roles: frozenset[str]
    purposes: frozenset[str]
    categories: frozenset[str]
    max_level: Level
    max_rank: int
    max_duration: timedelta


@dataclass(frozen=True, slots=True, eq=False)
class LabelRule:
    id: str
    system: str
    codes: frozenset[str]
    prefixes: tuple[str, ...]
    labels: frozenset[str]


@dataclass(frozen=True, slots=True, eq=False)
class CompetenceRules:
    """When a young person's own consent, refusal or withdrawal counts (Gillick, Fraser, 16-17s presumed).

    `presumed_from_age`: from this age (at the decision moment) a young person is presumed competent unless an
    assessment made since says otherwise. `own_request_categories`: a young person's own consent for these
    categories (their own request for help, e.g. a self-referral) counts whatever their competence.
    `texts`: the plain-words statement of each rule (assessment, presumed, refusal, consent, own-request,
    parental-responsibility), from the policy or the defaults.
    """

    presumed_from_age: int
    own_request_categories: frozenset[str]
    description: str
    texts: Mapping[str, str]


class ForType(NamedTuple):
    """A cell as seen by one organisation type: its cap and derivation after the rules on the type alone.

    The decisions that need nothing from the child are ready-made, indexed by whether break-glass was
    declared: `closed` when the cap is already NONE, else None; `no_relationship` and `no_basis` for the
    plain refusals. Decisions are immutable, so sharing them is safe.
    """

    cap: int
    fixed: tuple[Step, ...]
    closed: tuple[Decision, Decision] | None
    no_relationship: tuple[Decision, Decision]
    no_basis: tuple[Decision, Decision]


@dataclass(frozen=True, slots=True, eq=False)
class Cell:
    """Everything about one (role, purpose, category) that does not depend on the child.

    `own_cap`/`own_steps`: what the recording organisation itself may see (the matrix, audit cap applied);
    `own` holds that decision ready-made, indexed by whether break-glass was declared (None for FLAG, whose
    contact depends on the organisation). `by_type`: the cell as each organisation type sees it (`ForType`).
    `org_rules` (by organisation) and `label_rules` (by the entry's labels) are still to be tested at
    decision time. Decisions are immutable, so sharing them is safe.
    """

    role: str
    purpose: str
    category: str
    own_cap: int
    own_steps: tuple[Step, ...]
    own: tuple[Decision | None, Decision | None]
    by_type: Mapping[str, ForType]
    org_rules: tuple[LimitRule, ...]
    label_rules: tuple[LimitRule, ...]
    sealed: bool
    standing: tuple[LawfulBasis, ...]
    relationship_free: bool
    """True if some lawful basis could open this cell without a legitimate relationship (e.g. audit)."""


@dataclass(frozen=True, slots=True, eq=False)
class Policy:
    """A parsed, checked and compiled data-sharing policy. Build it with `parse_policy`."""

    name: str
    version: str
    digest: str
    source: str
    description: str
    purposes: Mapping[str, str]
    organisation_types: Mapping[str, str]
    organisations: Mapping[str, Organisation]
    roles: Mapping[str, Role]
    categories: Mapping[str, str]
    labels: Mapping[str, str]
    sealed_categories: frozenset[str]
    sealed_labels: frozenset[str]
    matrix: Mapping[tuple[str, str, str], Level]
    """(role, purpose, category) -> maximum level as written, with "*" as the category wildcard."""
    rules: tuple[LimitRule, ...]
    lawful_bases: Mapping[str, LawfulBasis]
    break_glass: BreakGlassPolicy | None
    labelling: tuple[LabelRule, ...]
    cells: Mapping[tuple[str, str, str], Cell]
    competence: CompetenceRules
