"""Decision inputs from plain mappings (JSON or YAML already parsed by the caller), and back.

Used by `onestory policy explain --scenario`, `policy diff --entries` and the benchmark, and by anything that
stores decision inputs as documents. Keys are the dataclass field names; unknown keys are errors, so that a
misspelt `withdraws` cannot silently leave a consent in force.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, TypeVar

from consent_engine.model import (
    BreakGlass,
    CompetenceAssessment,
    CompetenceFacts,
    ConsentRecord,
    Entry,
    Relationship,
    SharingBasis,
    Viewer,
)

T = TypeVar("T")

_TIMES = frozenset({"recorded_at", "start", "end", "starts_at", "expires_at", "occurred_at", "now", "assessed_at"})


class ScenarioError(ValueError):
    """A scenario document that does not describe valid decision inputs."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything `decide` needs apart from the policy."""

    consents: tuple[ConsentRecord, ...]
    relationships: tuple[Relationship, ...]
    viewer: Viewer
    entry: Entry
    now: datetime


@dataclass(frozen=True, slots=True)
class EntrySample:
    """An entry with the child's consents and relationships, for dry runs over many viewers."""

    entry: Entry
    consents: tuple[ConsentRecord, ...] = ()
    relationships: tuple[Relationship, ...] = ()


def parse_time(value: object, what: str = "time") -> datetime:
    """An ISO 8601 timestamp with a zone ("Z" allowed), or an aware datetime (as YAML may already give)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ScenarioError(f"{what}: not an ISO 8601 time: {value!r}") from exc
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ScenarioError(f"{what}: needs a timezone-aware ISO 8601 time, got {value!r}")
    return value


def _build(cls: type[T], data: object, what: str, nested: Mapping[str, Any] | None = None) -> T:
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{what} must be a mapping")
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ScenarioError(f"{what}: unknown keys {', '.join(unknown)} (expected some of {', '.join(sorted(names))})")
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if nested and key in nested and value is not None:
            value = nested[key](value, f"{what}.{key}")
        elif key in _TIMES and value is not None:
            value = parse_time(value, f"{what}.{key}")
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"{what}: {exc}") from exc


def parse_date(value: object, what: str = "date") -> date:
    """An ISO 8601 date ("2012-03-01"), or a date (as YAML may already give)."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError as exc:
            raise ScenarioError(f"{what}: not an ISO 8601 date: {value!r}") from exc
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ScenarioError(f"{what}: needs an ISO 8601 date, got {value!r}")
    return value


def assessment_from_mapping(data: object, what: str = "assessment") -> CompetenceAssessment:
    return _build(CompetenceAssessment, data, what)


def competence_from_mapping(data: object, what: str = "competence") -> CompetenceFacts:
    """{birth_date?, assessments?}: what the hub knows of a young person's competence."""
    return _build(
        CompetenceFacts,
        data,
        what,
        {
            "birth_date": parse_date,
            "assessments": lambda items, where: _many(items, where, assessment_from_mapping),
        },
    )


def consent_from_mapping(data: object, what: str = "consent") -> ConsentRecord:
    return _build(ConsentRecord, data, what, {"competence": competence_from_mapping})


def relationship_from_mapping(data: object, what: str = "relationship") -> Relationship:
    return _build(Relationship, data, what)


def break_glass_from_mapping(data: object, what: str = "break_glass") -> BreakGlass:
    return _build(BreakGlass, data, what)


def viewer_from_mapping(data: object, what: str = "viewer") -> Viewer:
    return _build(Viewer, data, what, {"break_glass": break_glass_from_mapping})


def sharing_basis_from_mapping(data: object, what: str = "sharing_basis") -> SharingBasis:
    return _build(SharingBasis, data, what)


def entry_from_mapping(data: object, what: str = "entry") -> Entry:
    return _build(Entry, data, what, {"sharing_basis": sharing_basis_from_mapping})


def _many(data: object, what: str, build: Any) -> tuple[Any, ...]:
    if data is None:
        return ()
    if not isinstance(data, Sequence) or isinstance(data, str):
        raise ScenarioError(f"{what} must be a list")
    return tuple(build(item, f"{what}[{n}]") for n, item in enumerate(data))


def scenario_from_mapping(data: object) -> Scenario:
    """A whole scenario: {now, viewer, entry, consents?, relationships?}."""
    if not isinstance(data, Mapping):
        raise ScenarioError("a scenario must be a mapping")
    unknown = sorted(set(data) - {"now", "viewer", "entry", "consents", "relationships"})
    if unknown:
        raise ScenarioError(f"scenario: unknown keys {', '.join(unknown)}")
    for key in ("now", "viewer", "entry"):
        if key not in data:
            raise ScenarioError(f"scenario needs '{key}'")
    return Scenario(
        consents=_many(data.get("consents"), "consents", consent_from_mapping),
        relationships=_many(data.get("relationships"), "relationships", relationship_from_mapping),
        viewer=viewer_from_mapping(data["viewer"]),
        entry=entry_from_mapping(data["entry"]),
        now=parse_time(data["now"], "now"),
    )


def entry_sample_from_mapping(data: object, what: str = "sample") -> EntrySample:
    """{entry, consents?, relationships?}: one item of a `policy diff --entries` file."""
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{what} must be a mapping")
    unknown = sorted(set(data) - {"entry", "consents", "relationships"})
    if unknown or "entry" not in data:
        raise ScenarioError(f"{what} needs 'entry' and may have 'consents' and 'relationships' only")
    return EntrySample(
        entry_from_mapping(data["entry"], f"{what}.entry"),
        _many(data.get("consents"), f"{what}.consents", consent_from_mapping),
        _many(data.get("relationships"), f"{what}.relationships", relationship_from_mapping),
    )
