"""A policy as written: every name carries the YAML line it came from.

The spec sits between the YAML and the compiled `Policy`: `policy_check` reads it to report problems by
line, and `policy_compile` turns a clean spec into the lookups `decide` uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from consent_engine.model import Level


class Ref(NamedTuple):
    """A name used in the policy and the line it is on (1-based)."""

    value: str
    line: int


class Problem(NamedTuple):
    """One thing wrong with a policy file, printed as `FILE:LINE: message`."""

    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"


class PolicyError(ValueError):
    """A policy that must not be used, with every problem found and its line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True, slots=True)
class Named:
    """A declared code (purpose, organisation type, category, label, reason) and what it means."""

    name: Ref
    description: str


@dataclass(frozen=True, slots=True)
class RoleSpec:
    name: Ref
    description: str
    purposes: tuple[Ref, ...]


@dataclass(frozen=True, slots=True)
class CellSpec:
    """One (role, purpose, category) -> maximum level entry of the matrix; category may be "*"."""

    role: Ref
    purpose: Ref
    category: Ref
    level: Level


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """An explicit deny (max_level NONE) or limit. A condition left as None matches everything."""

    id: Ref
    description: str
    max_level: Level
    roles: tuple[Ref, ...] | None
    organisation_types: tuple[Ref, ...] | None
    organisations: tuple[Ref, ...] | None
    categories: tuple[Ref, ...] | None
    purposes: tuple[Ref, ...] | None
    labels: tuple[Ref, ...] | None


@dataclass(frozen=True, slots=True)
class LawfulBasisSpec:
    """A basis for sharing other than consent.

    `standing` bases (e.g. audit) apply by policy; the others must be recorded on the entry at source.
    """

    code: Ref
    description: str
    standing: bool
    purposes: tuple[Ref, ...]
    roles: tuple[Ref, ...] | None
    organisation_types: tuple[Ref, ...] | None
    categories: tuple[Ref, ...] | None
    requires_decision: bool
    overrides_refusal: bool
    requires_relationship: bool
    max_level: Level


@dataclass(frozen=True, slots=True)
class BreakGlassSpec:
    line: int
    reasons: tuple[Named, ...]
    roles: tuple[Ref, ...]
    purposes: tuple[Ref, ...]
    categories: tuple[Ref, ...]
    max_level: Level
    max_minutes: int


@dataclass(frozen=True, slots=True)
class LabelRuleSpec:
    """Codes (exact, or by prefix such as ICD-10 "F") in one code system that carry sensitivity labels."""

    id: Ref
    system: str
    codes: tuple[str, ...]
    prefixes: tuple[str, ...]
    labels: tuple[Ref, ...]


COMPETENCE_RULES = ("assessment", "presumed", "refusal", "consent", "own-request", "parental-responsibility")
"""The competence rules a policy states in words (its `competence: rules:` keys), in the order people read them."""


@dataclass(frozen=True, slots=True)
class CompetenceSpec:
    """The `competence:` section: when a young person's own decision counts."""

    line: int
    description: str
    presumed_from_age: int
    own_request_categories: tuple[Ref, ...]
    texts: tuple[Named, ...]


@dataclass(frozen=True, slots=True)
class PolicySpec:
    source: str
    name: str
    version: str
    description: str
    digest: str
    purposes: tuple[Named, ...]
    organisation_types: tuple[Named, ...]
    roles: tuple[RoleSpec, ...]
    categories: tuple[Named, ...]
    labels: tuple[Named, ...]
    sealed_categories: tuple[Ref, ...]
    sealed_labels: tuple[Ref, ...]
    matrix: tuple[CellSpec, ...]
    rules: tuple[RuleSpec, ...]
    lawful_bases: tuple[LawfulBasisSpec, ...]
    break_glass: BreakGlassSpec | None
    labelling: tuple[LabelRuleSpec, ...]
    competence: CompetenceSpec | None = None
