"""Which children a Patient search matches: by identifier, by family name and date of birth, by name.

Matching is over every source's record of the child (the identity registry keeps each source's demographics,
normalised), so a child known to the school by one spelling and to the GP by another is found by either.
Who may see a matched child is decided afterwards, per child, by the read (hub.fhir.service); every matched
child is audited whether or not the searcher may see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Connection, or_, select

from hub.db.identity_tables import identity_records
from hub.db.tables import child_identifiers
from projections.identity.names import normalise_name


@dataclass(frozen=True)
class PatientCriteria:
    identifier: tuple[str, str] | None = None  # (system, value)
    family: str | None = None
    birthdate: date | None = None
    name: str | None = None


def _starts(column: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    """A name column whose value, or any word of it, starts with `prefix` (both normalised)."""
    return or_(column.like(f"{prefix}%"), column.like(f"% {prefix}%"))


def matching_children(conn: Connection, criteria: PatientCriteria) -> list[str]:
    """Child ids matching every given criterion, in a stable order."""
    found: set[str] | None = None
    if criteria.identifier is not None:
        system, value = criteria.identifier
        query = select(child_identifiers.c.child_id).where(
            child_identifiers.c.system == system, child_identifiers.c.value == value
        )
        found = {str(c) for c in conn.execute(query).scalars()}
    conditions: list[ColumnElement[bool]] = []
    if criteria.family is not None:
        conditions.append(_starts(identity_records.c.family_name, normalise_name(criteria.family)))
    if criteria.name is not None:
        prefix = normalise_name(criteria.name)
        conditions.append(
            or_(_starts(identity_records.c.family_name, prefix), _starts(identity_records.c.given_name, prefix))
        )
    if criteria.birthdate is not None:
        conditions.append(identity_records.c.birth_date == criteria.birthdate)
    if conditions:
        query = select(identity_records.c.child_id).where(*conditions).distinct()
        by_demographics = {str(c) for c in conn.execute(query).scalars()}
        found = by_demographics if found is None else found & by_demographics
    return sorted(found or ())


class CriteriaError(ValueError):
    """The Patient search's own parameters do not make a search this server runs (answered 400)."""


def patient_criteria(values: dict[str, str]) -> PatientCriteria:
    """identifier=system|value, family + birthdate, or name (each may be combined with the others)."""
    identifier = None
    if "identifier" in values:
        system, bar, value = values["identifier"].partition("|")
        if not bar or not system or not value.strip():
            raise CriteriaError("identifier must be system|value, e.g. https://fhir.nhs.uk/Id/nhs-number|9434765870")
        identifier = (system, value.replace(" ", ""))
    birthdate = None
    if "birthdate" in values:
        text = values["birthdate"].removeprefix("eq")
        try:
            birthdate = date.fromisoformat(text) if len(text) == 10 else None
        except ValueError:
            birthdate = None
        if birthdate is None:
            raise CriteriaError("birthdate must be a date, YYYY-MM-DD (only the eq prefix is supported)")
    for key in ("family", "name"):
        if key in values and not normalise_name(values[key]):
            raise CriteriaError(f"{key} must contain letters")
    family, name = values.get("family"), values.get("name")
    if family is not None and birthdate is None:
        raise CriteriaError("family needs birthdate too (family=…&birthdate=YYYY-MM-DD)")
    if identifier is None and family is None and name is None:
        raise CriteriaError("search needs identifier=system|value, family and birthdate, or name")
    return PatientCriteria(identifier, family, birthdate, name)


def masked_query(values: dict[str, str]) -> str:
    """The search as the audit log records it: parameter names and identifier systems, never the values."""
    parts = []
    for key in sorted(values):
        value = values[key]
        parts.append(f"{key}={value.partition('|')[0]}|***" if key == "identifier" and "|" in value else f"{key}=***")
    return "Patient?" + "&".join(parts)
