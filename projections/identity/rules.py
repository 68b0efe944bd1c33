"""Deterministic rules around the score: identifier validation, conflicts, and when a score may auto-link.

Pure. The registry applies these; tests pin them down as a decision table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from connectors.identifiers import NHS_NUMBER_SYSTEM, UPN_SYSTEM, is_valid_nhs_number, is_valid_upn
from hub.events.model import Identifier

# Identifier systems whose values are checked here, whatever the source's own `validated` flag says.
_CHECKS = {NHS_NUMBER_SYSTEM: is_valid_nhs_number, UPN_SYSTEM: is_valid_upn}
PRIORITY = (NHS_NUMBER_SYSTEM, UPN_SYSTEM)

Key = tuple[str, str]


@dataclass(frozen=True)
class CheckedIdentifiers:
    valid: list[Key]  # in linking priority: NHS number, UPN, then organisation-scoped ids
    invalid: list[tuple[str, str]]  # (system, reason): flagged, never linked on; no values kept in reasons


def check_identifiers(identifiers: Iterable[Identifier]) -> CheckedIdentifiers:
    valid: list[Key] = []
    invalid: list[tuple[str, str]] = []
    for ident in identifiers:
        system, value = ident["system"], ident["value"].strip()
        if system == UPN_SYSTEM:
            value = value.upper()
        elif system == NHS_NUMBER_SYSTEM:
            value = "".join(ch for ch in value if ch.isdigit())
        check = _CHECKS.get(system)
        if not value:
            invalid.append((system, "empty"))
        elif check is not None and not check(value):
            invalid.append((system, "check-digit" if system == NHS_NUMBER_SYSTEM else "check-letter"))
        elif check is None and not ident["validated"]:
            invalid.append((system, "not-validated-by-source"))
        elif (system, value) not in valid:
            valid.append((system, value))
    valid.sort(key=lambda k: PRIORITY.index(k[0]) if k[0] in PRIORITY else len(PRIORITY))
    return CheckedIdentifiers(valid, invalid)


def record_key(source_org: str, identifiers: Sequence[Identifier]) -> str:
    """One source's record of a person: the organisation plus every identifier it gave, as given."""
    parts = sorted(f"{i['system']}|{i['value'].strip()}" for i in identifiers)
    return hashlib.sha256("\n".join([source_org, *parts]).encode()).hexdigest()


def pair_key(child_a: str, child_b: str) -> str:
    return "|".join(sorted((child_a, child_b)))


def nhs_number(keys: Iterable[Key]) -> str | None:
    return next((v for s, v in keys if s == NHS_NUMBER_SYSTEM), None)


def other_national_identifier(record: Mapping[str, str], held: Iterable[Key]) -> bool:
    """The child holds a different validated NHS number or UPN than the record gives: a different child
    (twins and siblings have their own), so never a candidate for a score link."""
    return any(system in record and value != record[system] for system, value in held)


def nhs_dob_conflict(known_dates: Iterable[date | None], birth_date: date | None) -> bool:
    """Same NHS number, different date of birth: a wrong number or a wrong date, either way a human decides."""
    known = {d for d in known_dates if d is not None}
    return birth_date is not None and bool(known) and birth_date not in known


def holder_of_birth_date(dates: Mapping[str, Iterable[date | None]], birth_date: date) -> str | None:
    """The one child whose records have this birth date; None when none or several do (a human decides)."""
    holders = sorted(child for child, known in dates.items() if birth_date in set(known))
    return holders[0] if len(holders) == 1 else None


def possible_twin(levels: dict[str, str | None]) -> bool:
    """Same birth date, family names alike (a typo on one side counts) and different given names: twins.

    A birth date keyed with day and month swapped or a day or two out counts as the same: otherwise one twin's
    mistyped record and the other twin at their shared address score as high as a link."""
    return (
        levels.get("given_name") in ("disagree", "phonetic")
        and levels.get("family_name") in ("exact", "partial", "similar", "phonetic")
        and levels.get("birth_date") in TWIN_BIRTH_DATES
    )


TWIN_BIRTH_DATES = ("exact", "transposed", "near")
