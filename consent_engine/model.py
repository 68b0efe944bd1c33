"""The inputs and output of a consent decision, as small immutable values.

Records validate and normalise themselves when they are built (enum values from strings, frozensets from
lists, timezone-aware datetimes), so that `decide` can stay a tight loop of comparisons: a malformed record
fails loudly at the boundary instead of silently widening or narrowing access deep inside a decision.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum, StrEnum

ANY = "*"
"""Wildcard member of a scope set: matches every value on that dimension."""


class Level(Enum):
    """How much of an entry a viewer may see, ordered NONE < FLAG < SUMMARY < FULL.

    FLAG is existence only (with whom to contact), as CP-IS does for child protection; it is also the
    "metadata" level that audit sees.
    """

    NONE = "none"
    FLAG = "flag"
    SUMMARY = "summary"
    FULL = "full"

    @property
    def rank(self) -> int:
        """0 for NONE up to 3 for FULL; `decide` works in ranks to avoid enum comparisons."""
        return _RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return _RANK[self] < _RANK[other]

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return _RANK[self] <= _RANK[other]

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return _RANK[self] > _RANK[other]

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return _RANK[self] >= _RANK[other]

    def __str__(self) -> str:
        return self.value


LEVELS_BY_RANK: tuple[Level, ...] = (Level.NONE, Level.FLAG, Level.SUMMARY, Level.FULL)
_RANK: dict[Level, int] = {level: rank for rank, level in enumerate(LEVELS_BY_RANK)}


class ConsentStatus(StrEnum):
    """What the person decided. WITHDRAWN and REFUSED are both deny records."""

    GIVEN = "given"
    WITHDRAWN = "withdrawn"
    REFUSED = "refused"


class Consenter(StrEnum):
    """Who decided: the young person themselves, or a person with parental responsibility."""

    YOUNG_PERSON = "young-person"
    PARENTAL_RESPONSIBILITY = "parental-responsibility"


class CompetenceOutcome(StrEnum):
    """What a competence assessment (Gillick or Fraser) found."""

    COMPETENT = "competent"
    NOT_COMPETENT = "not_competent"


class SharingKind(StrEnum):
    """The basis the source organisation recorded for sharing an entry."""

    CONSENT = "consent"
    LAWFUL_BASIS = "lawful-basis"
    NONE = "none"


def _aware(value: datetime | None, what: str) -> None:
    """Naive datetimes cannot be ordered against aware ones, and guessing a zone would be a silent error."""
    if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
        raise ValueError(f"{what} must be a timezone-aware datetime, got {value!r}")


def _text(value: object, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")


def _strings(value: Iterable[str], what: str) -> frozenset[str]:
    if isinstance(value, str):
        raise ValueError(f"{what} must be a collection of strings, not the string {value!r}")
    return frozenset(value)


@dataclass(frozen=True, slots=True)
class Contact:
    """Who to contact about an entry shown as a flag: the recording organisation and how to reach it."""

    organisation: str
    name: str
    text: str


@dataclass(frozen=True, slots=True)
class SharingBasis:
    """The basis for sharing recorded at source with the entry.

    kind CONSENT: `reference` names the consent record the source relied on; the child's live consent
    state still decides. kind LAWFUL_BASIS: `reference` is a lawful-basis code from the policy; bases such
    as safeguarding also need `decision_maker` and `reason` (who decided to share without consent, and
    why). `recorded_at`, when known, stops the basis applying to decisions made before it existed.
    """

    kind: SharingKind = SharingKind.NONE
    reference: str | None = None
    decision_maker: str | None = None
    reason: str | None = None
    recorded_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", SharingKind(self.kind))
        _aware(self.recorded_at, "SharingBasis.recorded_at")


NO_BASIS = SharingBasis()


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry in a child's story, described by what the decision needs (never its clinical content)."""

    id: str
    child_id: str
    source_organisation: str
    category: str
    labels: tuple[str, ...] = ()
    sharing_basis: SharingBasis = NO_BASIS
    occurred_at: datetime | None = None

    def __post_init__(self) -> None:
        _text(self.source_organisation, "Entry.source_organisation")
        if isinstance(self.labels, str):
            raise ValueError("Entry.labels must be a collection of label codes, not a string")
        object.__setattr__(self, "labels", tuple(self.labels))
        _aware(self.occurred_at, "Entry.occurred_at")


@dataclass(frozen=True, slots=True)
class BreakGlass:
    """An emergency override of the legitimate-relationship check, declared by the viewer.

    It is limited to one child, to some categories (or ANY, if the policy allows) and to a time window,
    and every use raises an alert for IG review.
    """

    reason: str
    justification: str
    child_id: str
    starts_at: datetime
    expires_at: datetime
    categories: frozenset[str] = frozenset({ANY})

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", _strings(self.categories, "BreakGlass.categories"))
        _aware(self.starts_at, "BreakGlass.starts_at")
        _aware(self.expires_at, "BreakGlass.expires_at")


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking, for which organisation, in which role and for what purpose of use.

    The organisation's type comes from the policy; `organisation_type`, when given (e.g. from a token),
    must agree with it or the decision fails closed.
    """

    user_id: str
    organisation: str
    role: str
    purpose: str
    break_glass: BreakGlass | None = None
    organisation_type: str | None = None
    team: str | None = None


@dataclass(frozen=True, slots=True)
class CompetenceAssessment:
    """A practitioner's assessment of whether the young person is competent to make a decision (an event).

    `categories` are the categories the decision covers (empty: every sharing decision). It applies from the
    later of `assessed_at` and `recorded_at` (`recorded_at` defaults to `assessed_at`): nothing applies before
    the hub could know it. `decision` (e.g. "information-sharing"), `assessed_by` (role and practitioner) and
    `framework` (gillick | fraser) are carried into the derivation.
    """

    id: str
    outcome: CompetenceOutcome
    assessed_at: datetime
    recorded_at: datetime | None = None
    categories: frozenset[str] = frozenset()
    assessed_by: str = ""
    decision: str = "information-sharing"
    framework: str = "gillick"
    effective_at: datetime = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        _text(self.id, "CompetenceAssessment.id")
        set_ = object.__setattr__
        set_(self, "outcome", CompetenceOutcome(self.outcome))
        set_(self, "categories", _strings(self.categories, "CompetenceAssessment.categories"))
        _aware(self.assessed_at, "CompetenceAssessment.assessed_at")
        _aware(self.recorded_at, "CompetenceAssessment.recorded_at")
        if self.assessed_at is None:
            raise ValueError("CompetenceAssessment.assessed_at must be a timezone-aware datetime, got None")
        recorded = self.recorded_at or self.assessed_at
        set_(self, "effective_at", recorded if recorded > self.assessed_at else self.assessed_at)

    @property
    def competent(self) -> bool:
        return self.outcome is CompetenceOutcome.COMPETENT


@dataclass(frozen=True, slots=True)
class CompetenceFacts:
    """What the hub knows about one young person's competence: their birth date (None if unknown) and every
    competence assessment recorded for them. Attached to each of the young person's consent records."""

    birth_date: date | None = None
    assessments: tuple[CompetenceAssessment, ...] = ()

    def __post_init__(self) -> None:
        born = self.birth_date
        if born is not None and (not isinstance(born, date) or isinstance(born, datetime)):
            raise ValueError(f"CompetenceFacts.birth_date must be a date, got {self.birth_date!r}")
        object.__setattr__(self, "assessments", tuple(self.assessments))


DEPENDS = -1
"""The authority of a young person's record that depends on the moment, the entry's category and the policy."""


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """A decision about sharing the child's information, as recorded at `recorded_at`.

    Scope sets hold organisation codes, organisation types, categories and purposes; ANY ("*") matches
    everything on its dimension. A GIVEN record must name its scope (an empty set matches nothing), while
    a WITHDRAWN or REFUSED record left unscoped on a dimension applies to all of it. A withdrawal that
    names `withdraws` ends that one record and nothing else. `start`/`end` bound when the record applies
    (end exclusive). Nothing applies before it was recorded.
    """

    id: str
    status: ConsentStatus
    by: Consenter
    recorded_at: datetime
    competent: bool = False
    organisations: frozenset[str] = frozenset()
    organisation_types: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    purposes: frozenset[str] = frozenset()
    start: datetime | None = None
    end: datetime | None = None
    withdraws: str | None = None
    child_id: str | None = None
    competence: CompetenceFacts | None = None
    """The young person's birth date and competence assessments; None: nothing known beyond `competent`.

    `competent=True` counts as an assessment (outcome competent, every category) made when the record was
    recorded. A young person's authority is then worked out at the decision moment (consent_state).
    """
    authority: int = field(init=False, compare=False)
    """1: parental responsibility; 2: a young person recorded as competent (competent=True, no other facts);
    DEPENDS (-1): a young person whose authority depends on the moment, the category and the policy's
    competence rules (2 competent or refusal respected, 0 not competent: the parent decides).

    A deny record only overrides consents of the same or lower authority (Gillick: a parent cannot override
    a competent young person, but a competent young person's refusal overrides a parent).
    """
    _assessments: tuple[CompetenceAssessment, ...] = field(init=False, repr=False, compare=False)
    _any_recipient: bool = field(init=False, repr=False, compare=False)
    _any_category: bool = field(init=False, repr=False, compare=False)
    _any_purpose: bool = field(init=False, repr=False, compare=False)
    _step: tuple[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Validate, then precompute what `decide` asks of the record every time it reads it."""
        _text(self.id, "ConsentRecord.id")
        set_ = object.__setattr__
        set_(self, "status", ConsentStatus(self.status))
        set_(self, "by", Consenter(self.by))
        for name in ("organisations", "organisation_types", "categories", "purposes"):
            set_(self, name, _strings(getattr(self, name), f"ConsentRecord.{name}"))
        _aware(self.recorded_at, "ConsentRecord.recorded_at")
        _aware(self.start, "ConsentRecord.start")
        _aware(self.end, "ConsentRecord.end")
        if self.competence is not None and not isinstance(self.competence, CompetenceFacts):
            raise ValueError(f"ConsentRecord.competence must be CompetenceFacts, got {self.competence!r}")
        assessments = () if self.competence is None else self.competence.assessments
        if self.by is not Consenter.YOUNG_PERSON:
            set_(self, "authority", 1)
        elif self.competent and not assessments and (self.competence is None or self.competence.birth_date is None):
            set_(self, "authority", 2)  # recorded as competent, and nothing else known: competent whenever it applies
        else:
            set_(self, "authority", DEPENDS)
            if self.competent:  # recorded as competent with this record: an assessment made when it was recorded
                implied = CompetenceAssessment(
                    self.id, CompetenceOutcome.COMPETENT, self.recorded_at, assessed_by="recorded with the consent"
                )
                assessments = (*assessments, implied)
        set_(self, "_assessments", assessments)
        unscoped = self.status is not ConsentStatus.GIVEN  # an unscoped deny applies to the whole dimension
        orgs, types = self.organisations, self.organisation_types
        set_(self, "_any_recipient", ANY in orgs or ANY in types or (unscoped and not orgs and not types))
        set_(self, "_any_category", ANY in self.categories or (unscoped and not self.categories))
        set_(self, "_any_purpose", ANY in self.purposes or (unscoped and not self.purposes))
        if self.status is ConsentStatus.GIVEN:
            set_(
                self,
                "_step",
                (
                    f"consent:{self.id}",
                    f"consent given by {self.by.value} (record {self.id}) covers this viewer, category and purpose",
                ),
            )
        else:
            set_(
                self,
                "_step",
                (
                    f"consent-{self.status.value}:{self.id}",
                    f"consent {self.status.value} by {self.by.value} (record {self.id})",
                ),
            )

    @property
    def rule(self) -> str:
        """How a derivation names this record: "consent:<id>", "consent-refused:<id>", "consent-withdrawn:<id>"."""
        return self._step[0]


@dataclass(frozen=True, slots=True)
class Relationship:
    """A legitimate relationship: an organisation (optionally a role, team or user) involved in the child's care.

    Unset role/team/user match any viewer of that organisation; `end` is exclusive and None means ongoing.
    """

    organisation: str
    start: datetime
    end: datetime | None = None
    role: str | None = None
    team: str | None = None
    user_id: str | None = None
    child_id: str | None = None

    def __post_init__(self) -> None:
        _text(self.organisation, "Relationship.organisation")
        _aware(self.start, "Relationship.start")
        _aware(self.end, "Relationship.end")
