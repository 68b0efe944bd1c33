"""Dry run of a policy change: over a sample of entries and viewers, which decisions would change level.

Run before a policy goes live, so that the IG board sees "312 decisions for teachers would narrow" rather than
discovering it from practitioners. The default sample is generated from both policies: every role, purpose
and category, each organisation type, each label, and each basis (consent, each recorded lawful basis).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from consent_engine.compiled import Policy
from consent_engine.consent_state import birthday
from consent_engine.decide import decide
from consent_engine.model import (
    ANY,
    CompetenceFacts,
    Consenter,
    ConsentRecord,
    ConsentStatus,
    Entry,
    Relationship,
    SharingBasis,
    SharingKind,
    Viewer,
)
from consent_engine.scenario import EntrySample, Scenario

_CHILD = "diff-child"
GIVEN, YOUNG = ConsentStatus.GIVEN, Consenter.YOUNG_PERSON


@dataclass(frozen=True, slots=True)
class RoleDiff:
    role: str
    decisions: int
    changed: int
    widened: int
    narrowed: int


@dataclass(frozen=True, slots=True)
class Change:
    """One example of a changed decision, to show what kind of change it is."""

    role: str
    purpose: str
    organisation: str
    category: str
    labels: tuple[str, ...]
    basis: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class DiffReport:
    old_version: str
    new_version: str
    decisions: int
    changed: int
    widened: int
    narrowed: int
    by_role: tuple[RoleDiff, ...]
    examples: tuple[Change, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "decisions": self.decisions,
            "changed": self.changed,
            "widened": self.widened,
            "narrowed": self.narrowed,
            "by_role": [vars_of(r) for r in self.by_role],
            "examples": [vars_of(c) for c in self.examples],
        }

    def table(self) -> str:
        """A plain-text table by role, then the totals."""
        rows = [("role", "decisions", "changed", "widened", "narrowed")]
        rows += [(r.role, str(r.decisions), str(r.changed), str(r.widened), str(r.narrowed)) for r in self.by_role]
        rows.append(("total", str(self.decisions), str(self.changed), str(self.widened), str(self.narrowed)))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = [
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
            for row in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.insert(len(lines) - 1, lines[1])
        return "\n".join(lines)


def vars_of(value: RoleDiff | Change) -> dict[str, object]:
    return {name: getattr(value, name) for name in value.__slots__}


def diff_policies(old: Policy, new: Policy, scenarios: Iterable[Scenario], examples: int = 10) -> DiffReport:
    """Decide every scenario under both policies and count the changes of level, by viewer role."""
    counts: dict[str, list[int]] = {}
    shown: list[Change] = []
    for s in scenarios:
        before = decide(old, s.consents, s.relationships, s.viewer, s.entry, s.now).level
        after = decide(new, s.consents, s.relationships, s.viewer, s.entry, s.now).level
        row = counts.setdefault(s.viewer.role, [0, 0, 0, 0])
        row[0] += 1
        if before is not after:
            row[1] += 1
            row[2 if after > before else 3] += 1
            if len(shown) < examples:
                shown.append(
                    Change(
                        s.viewer.role,
                        s.viewer.purpose,
                        s.viewer.organisation,
                        s.entry.category,
                        s.entry.labels,
                        s.entry.sharing_basis.kind.value
                        + (f":{s.entry.sharing_basis.reference}" if s.entry.sharing_basis.reference else ""),
                        before.value,
                        after.value,
                    )
                )
    by_role = tuple(RoleDiff(role, *row) for role, row in sorted(counts.items()))
    return DiffReport(
        old.digest,
        new.digest,
        sum(r.decisions for r in by_role),
        sum(r.changed for r in by_role),
        sum(r.widened for r in by_role),
        sum(r.narrowed for r in by_role),
        by_role,
        tuple(shown),
    )


def _union(*maps: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for names in maps:
        seen.update(dict.fromkeys(names))
    return list(seen)


def viewer_classes(old: Policy, new: Policy) -> list[Viewer]:
    """One viewer per (organisation type, role, purpose) in either policy, at the first organisation of that type."""
    orgs: dict[str, str] = {}
    for policy in (old, new):
        for org in policy.organisations.values():
            orgs.setdefault(org.type, org.code)
    viewers = []
    for role in _union(old.roles, new.roles):
        purposes = _union(*(p.roles[role].purposes for p in (old, new) if role in p.roles))
        for purpose in sorted(purposes):
            for code in orgs.values():
                viewers.append(Viewer(f"diff-{role}", code, role, purpose))
    return viewers


def _relationship(viewer: Viewer, now: datetime) -> Relationship:
    return Relationship(viewer.organisation, start=now - timedelta(days=365))


def generated_scenarios(old: Policy, new: Policy, now: datetime) -> Iterator[Scenario]:
    """The default sample: every viewer class x category x label (none, or one) x basis."""
    categories = _union(old.categories, new.categories)
    labels: list[tuple[str, ...]] = [(), *((label,) for label in _union(old.labels, new.labels))]
    codes = _union(*(p.lawful_bases for p in (old, new)))
    bases = [SharingBasis(SharingKind.CONSENT)] + [
        SharingBasis(SharingKind.LAWFUL_BASIS, code, "diff decision-maker", "diff reason")
        for code in codes
        if not any(p.lawful_bases[code].standing for p in (old, new) if code in p.lawful_bases)
    ]
    scope = {
        "organisations": frozenset({ANY}),
        "categories": frozenset(categories),
        "purposes": frozenset({ANY}),
    }
    recorded = now - timedelta(days=30)
    young = min(old.competence.presumed_from_age, new.competence.presumed_from_age)
    # The young person's consent three ways, so that a change of the competence rules shows: recorded as
    # competent; aged exactly the lower of the two presumption ages, not assessed; of unknown age, not assessed
    # (their consent counts only for their own requests for help).
    variants = [
        (ConsentRecord("diff-consent", GIVEN, YOUNG, recorded, competent=True, **scope),),  # type: ignore[arg-type]
        (
            ConsentRecord(
                "diff-consent-presumed",
                GIVEN,
                YOUNG,
                recorded,
                competence=CompetenceFacts(birthday(now.date(), -young)),
                **scope,  # type: ignore[arg-type]
            ),
        ),
        (ConsentRecord("diff-consent-unassessed", GIVEN, YOUNG, recorded, competence=CompetenceFacts(), **scope),),  # type: ignore[arg-type]
    ]
    sources = _union(old.organisations, new.organisations)
    for viewer in viewer_classes(old, new):
        source = next((code for code in sources if code != viewer.organisation), viewer.organisation)
        relationships = (_relationship(viewer, now),)
        for category in categories:
            for label_set in labels:
                for basis in bases:
                    entry = Entry("diff-entry", _CHILD, source, category, label_set, basis)
                    if basis.kind is not SharingKind.CONSENT:
                        yield Scenario((), relationships, viewer, entry, now)
                        continue
                    for consents in variants:
                        yield Scenario(consents, relationships, viewer, entry, now)


def entry_scenarios(old: Policy, new: Policy, samples: Iterable[EntrySample], now: datetime) -> Iterator[Scenario]:
    """Given entries (with their consents and relationships) crossed with every viewer class.

    An entry given without relationships is assumed to have one with each viewer, so that only the policy
    varies.
    """
    viewers = viewer_classes(old, new)
    for sample in samples:
        for viewer in viewers:
            yield Scenario(
                sample.consents, sample.relationships or (_relationship(viewer, now),), viewer, sample.entry, now
            )
