"""Semantic checks of a policy: unknown names, contradictions and rules that can never apply.

A policy that fails any of these must not go live: an unknown category silently denies (or worse, a typo in a
deny rule silently permits), a contradiction means the authors disagree about a disclosure, and an
unreachable rule is a rule someone believes is protecting children when it is not.
"""

from __future__ import annotations

from collections.abc import Container, Iterable

from consent_engine.compiled import AUDIT
from consent_engine.directory import Directory
from consent_engine.model import ANY, Level
from consent_engine.policy_spec import CellSpec, PolicySpec, Problem, Ref, RuleSpec


class _Checker:
    def __init__(self, spec: PolicySpec, directory: Directory | None) -> None:
        self.spec = spec
        self.directory = directory
        self.problems: list[Problem] = []
        self.purposes = {n.name.value for n in spec.purposes}
        self.org_types = {n.name.value for n in spec.organisation_types}
        self.organisations = dict(directory.types()) if directory is not None else {}
        self.roles = {r.name.value: {p.value for p in r.purposes} for r in spec.roles}
        self.categories = {n.name.value for n in spec.categories}
        self.labels = {n.name.value for n in spec.labels}
        self.sealed = {r.value for r in spec.sealed_categories}

    def fail(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.spec.source, line, message))

    def known(self, refs: Iterable[Ref] | None, declared: Container[str], kind: str, wildcard: bool = False) -> None:
        for ref in refs or ():
            if ref.value not in declared and not (wildcard and ref.value == ANY):
                self.fail(ref.line, f"unknown {kind} '{ref.value}'")

    def run(self) -> list[Problem]:
        spec = self.spec
        if not spec.version:
            self.fail(1, "the policy needs a non-empty version")
        for role in spec.roles:
            self.known(role.purposes, self.purposes, "purpose")
        self.known(spec.sealed_categories, self.categories, "category")
        self.known(spec.sealed_labels, self.labels, "label")
        levels = self.matrix()
        self.rules(levels)
        self.lawful_bases()
        self.break_glass()
        self.competence()
        seen: dict[str, int] = {}
        for rule in spec.labelling:
            self.known(rule.labels, self.labels, "label")
            self.unique(rule.id, seen, "labelling rule")
        problems = sorted(self.problems, key=lambda p: p.line)
        if self.directory is not None:
            problems += self.directory.problems_against(self.org_types)
        return problems

    def unique(self, ref: Ref, seen: dict[str, int], kind: str) -> None:
        if ref.value in seen:
            self.fail(ref.line, f"duplicate {kind} id '{ref.value}' (first on line {seen[ref.value]})")
        else:
            seen[ref.value] = ref.line

    def matrix(self) -> dict[tuple[str, str, str], int]:
        """Check every cell and return the effective cap of each reachable (role, purpose, category)."""
        seen: dict[tuple[str, str, str], CellSpec] = {}
        unreachable: set[tuple[str, str]] = set()
        for cell in self.spec.matrix:
            role, purpose, category = cell.role.value, cell.purpose.value, cell.category.value
            before = len(self.problems)
            self.known([cell.role], self.roles, "role")
            self.known([cell.purpose], self.purposes, "purpose")
            self.known([cell.category], self.categories, "category", wildcard=True)
            if len(self.problems) > before:
                continue
            if purpose not in self.roles[role]:
                if (role, purpose) in unreachable:
                    continue
                unreachable.add((role, purpose))
                self.fail(
                    cell.purpose.line,
                    f"unreachable: role '{role}' may not act for '{purpose}', so its '{purpose}' cells never apply",
                )
                continue
            if purpose == AUDIT and cell.level > Level.FLAG:
                self.fail(
                    cell.category.line,
                    f"contradiction: acting for audit shows metadata only, so "
                    f"'{role}' / '{purpose}' / '{category}' cannot be {cell.level.value}",
                )
            key = (role, purpose, category)
            first = seen.setdefault(key, cell)
            if first is not cell:  # a category listed under two levels (one list cannot hold it twice)
                self.fail(
                    cell.category.line,
                    f"contradiction: matrix cell '{role}' / '{purpose}' / "
                    f"'{category}' is {cell.level.value} here but "
                    f"{first.level.value} on line {first.category.line}",
                )
        levels: dict[tuple[str, str, str], int] = {}
        for role, purposes in self.roles.items():
            for purpose in purposes:
                for category in self.categories:
                    found = seen.get((role, purpose, category)) or seen.get((role, purpose, ANY))
                    rank = 0 if found is None else found.level.rank
                    levels[(role, purpose, category)] = min(rank, Level.FLAG.rank) if purpose == AUDIT else rank
        return levels

    def rules(self, levels: dict[tuple[str, str, str], int]) -> None:
        seen: dict[str, int] = {}
        earlier: list[RuleSpec] = []
        for rule in self.spec.rules:
            self.unique(rule.id, seen, "rule")
            before = len(self.problems)
            self.known(rule.roles, self.roles, "role")
            self.known(rule.organisation_types, self.org_types, "organisation type")
            self.known(rule.organisations, self.organisations, "organisation")
            self.known(rule.categories, self.categories, "category")
            self.known(rule.purposes, self.purposes, "purpose")
            self.known(rule.labels, self.labels, "label")
            if len(self.problems) == before:
                self.reachable(rule, levels, earlier)
            earlier.append(rule)

    def reachable(self, rule: RuleSpec, levels: dict[tuple[str, str, str], int], earlier: list[RuleSpec]) -> None:
        """A rule is unreachable if, wherever it could match, the level is already at or below its limit."""
        name = f"rule '{rule.id.value}'"
        if any(
            refs == ()
            for refs in (
                rule.roles,
                rule.organisation_types,
                rule.organisations,
                rule.categories,
                rule.purposes,
                rule.labels,
            )
        ):
            self.fail(rule.id.line, f"unreachable: {name} has an empty condition list, so it never matches")
            return
        if rule.organisations is not None and rule.organisation_types is not None:
            types = {r.value for r in rule.organisation_types}
            if not any(self.organisations[r.value] in types for r in rule.organisations):
                self.fail(rule.id.line, f"unreachable: none of the organisations of {name} has one of its types")
                return
        shadows = [other for other in earlier if _covers(other, rule)]
        limit = min((other.max_level.rank for other in shadows), default=Level.FULL.rank)
        matched = [
            min(rank, limit)
            for (role, purpose, category), rank in levels.items()
            if _hit(rule.roles, role) and _hit(rule.purposes, purpose) and _hit(rule.categories, category)
        ]
        if not matched:
            self.fail(rule.id.line, f"unreachable: {name} matches no role, purpose and category a viewer can have")
        elif max(matched) <= rule.max_level.rank:
            because = f" (given rule '{shadows[0].id.value}' on line {shadows[0].id.line})" if shadows else ""
            self.fail(
                rule.id.line,
                f"unreachable: {name} never changes a decision: everything it matches is "
                f"already at most {rule.max_level.value}{because}",
            )

    def lawful_bases(self) -> None:
        for basis in self.spec.lawful_bases:
            name = f"lawful basis '{basis.code.value}'"
            before = len(self.problems)
            self.known(basis.purposes, self.purposes, "purpose")
            self.known(basis.roles, self.roles, "role")
            self.known(basis.organisation_types, self.org_types, "organisation type")
            self.known(basis.categories, self.categories, "category")
            for category in basis.categories or ():
                if category.value in self.sealed:
                    self.fail(
                        category.line,
                        f"contradiction: '{category.value}' is sealed, so {name} cannot "
                        f"open it (sealed entries need the young person's explicit consent)",
                    )
            if basis.overrides_refusal and not basis.requires_decision:
                self.fail(
                    basis.code.line,
                    f"contradiction: {name} overrides a refusal, so it must require a "
                    f"recorded decision (requires_decision: true)",
                )
            if basis.standing and basis.requires_decision:
                self.fail(basis.code.line, f"contradiction: {name} is standing, so no decision is recorded for it")
            if len(self.problems) > before:
                continue
            purposes = {p.value for p in basis.purposes}
            roles = [r.value for r in basis.roles] if basis.roles is not None else list(self.roles)
            if not any(purposes & self.roles[role] for role in roles) or basis.max_level is Level.NONE:
                self.fail(
                    basis.code.line,
                    f"unreachable: {name} can never open an entry (no role it covers may "
                    f"act for its purposes, or its max_level is none)",
                )

    def break_glass(self) -> None:
        bg = self.spec.break_glass
        if bg is None:
            return
        before = len(self.problems)
        if not bg.reasons:
            self.fail(bg.line, "break_glass needs at least one reason")
        if bg.max_minutes <= 0:
            self.fail(bg.line, "break_glass max_minutes must be positive: break-glass is limited in time")
        self.known(bg.roles, self.roles, "role")
        self.known(bg.purposes, self.purposes, "purpose")
        self.known(bg.categories, self.categories, "category", wildcard=True)
        for category in bg.categories:
            if category.value in self.sealed:
                self.fail(category.line, f"contradiction: '{category.value}' is sealed, so break-glass cannot open it")
        if len(self.problems) > before:
            return
        purposes = {p.value for p in bg.purposes}
        if bg.max_level is Level.NONE or not bg.categories or not any(purposes & self.roles[r.value] for r in bg.roles):
            self.fail(
                bg.line,
                "unreachable: break_glass can never open an entry (no role may act for its "
                "purposes, no categories, or max_level none)",
            )

    def competence(self) -> None:
        rules = self.spec.competence
        if rules is None:
            return
        if not 1 <= rules.presumed_from_age <= 18:
            self.fail(rules.line, "competence presumed_from_age must be an age from 1 to 18")
        self.known(rules.own_request_categories, self.categories, "category")
        for category in rules.own_request_categories:
            if category.value in self.sealed:
                self.fail(
                    category.line,
                    f"contradiction: '{category.value}' is sealed, so a young person's own request cannot open it "
                    f"without their competence (sealed entries need the competent young person's explicit consent)",
                )


def _hit(refs: tuple[Ref, ...] | None, value: str) -> bool:
    return refs is None or any(ref.value == value for ref in refs)


def _covers(wide: RuleSpec, narrow: RuleSpec) -> bool:
    """True if `wide` matches whenever `narrow` does (each of its conditions is absent or a superset)."""
    pairs = (
        (wide.roles, narrow.roles),
        (wide.organisation_types, narrow.organisation_types),
        (wide.organisations, narrow.organisations),
        (wide.categories, narrow.categories),
        (wide.purposes, narrow.purposes),
        (wide.labels, narrow.labels),
    )
    for outer, inner in pairs:
        if outer is None:
            continue
        if inner is None or not {r.value for r in inner} <= {r.value for r in outer}:
            return False
    return True


def check_spec(spec: PolicySpec, directory: Directory | None = None) -> list[Problem]:
    """Every semantic problem in the spec, ordered by line; empty when the policy may be used.

    With a directory, rules naming organisations are checked against it, and every organisation type the
    directory uses must be one the policy defines (the directory's problems follow the policy's).
    """
    return _Checker(spec, directory).run()
