"""Field comparators: two records' values → an agreement level (or None when either side is missing).

Levels are ordered from strongest agreement to disagreement; scoring turns them into weights. Every
comparator is symmetric in its arguments (property-tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from projections.identity.names import (
    Nicknames,
    jaro_winkler,
    name_tokens,
    normalise_name,
    normalise_postcode,
    postcode_parts,
    soundex,
)

SIMILAR = 0.92  # Jaro–Winkler at or above this counts as a spelling variant / typo
NEAR_DAYS = 3  # birth dates this many days apart or fewer count as a mistyped day


@dataclass(frozen=True)
class Demographics:
    """What probabilistic matching looks at, already normalised (see ``Demographics.of``)."""

    given_name: str
    family_name: str
    birth_date: date | None
    sex: str
    postcode: str

    @classmethod
    def of(
        cls, given: str | None, family: str | None, birth_date: date | None, sex: str | None, postcode: str | None
    ) -> Demographics:
        return cls(
            given_name=normalise_name(given),
            family_name=normalise_name(family),
            birth_date=birth_date,
            sex=_sex(sex),
            postcode=normalise_postcode(postcode),
        )


def _sex(value: str | None) -> str:
    """HL7/FHIR/CBDS codes folded to M/F; unknown, other and indeterminate count as missing."""
    code = (value or "").strip().upper()[:1]
    return code if code in ("M", "F") else ""


def compare_given(a: str, b: str, nicknames: Nicknames) -> str | None:
    if not a or not b:
        return None
    if a == b:
        return "exact"
    first_a, first_b = a.split()[0], b.split()[0]
    if first_a == first_b:
        return "exact"  # middle names recorded by one source only
    if nicknames.equivalent(first_a, first_b):
        return "nickname"
    if jaro_winkler(first_a, first_b) >= SIMILAR:
        return "similar"
    if soundex(first_a) == soundex(first_b):
        return "phonetic"
    return "disagree"


def compare_family(a: str, b: str) -> str | None:
    if not a or not b:
        return None
    if a == b:
        return "exact"
    tokens_a, tokens_b = set(name_tokens(a)), set(name_tokens(b))
    if tokens_a & tokens_b:
        return "partial"  # double-barrelled on one side only
    if jaro_winkler(a, b) >= SIMILAR:
        return "similar"
    if soundex(a) == soundex(b):
        return "phonetic"
    return "disagree"


def compare_birth_date(a: date | None, b: date | None) -> str | None:
    if a is None or b is None:
        return None
    if a == b:
        return "exact"
    if a.year == b.year and a.day == b.month and a.month == b.day:
        return "transposed"  # 03/04 keyed as 04/03
    if abs((a - b).days) <= NEAR_DAYS:
        return "near"  # a day or two out, also across a month or year end (31/03 and 01/04)
    same = (a.year == b.year) + (a.month == b.month) + (a.day == b.day)
    if same == 2:
        return "one_part"
    return "disagree"


def compare_postcode(a: str, b: str) -> str | None:
    if not a or not b:
        return None
    if a == b:
        return "exact"
    _, sector_a, district_a = postcode_parts(a)
    _, sector_b, district_b = postcode_parts(b)
    if sector_a and sector_a == sector_b:
        return "sector"
    if district_a and district_a == district_b:
        return "district"
    return "disagree"


def compare_sex(a: str, b: str) -> str | None:
    if not a or not b:
        return None
    return "agree" if a == b else "disagree"


def compare(a: Demographics, b: Demographics, nicknames: Nicknames) -> dict[str, str | None]:
    """All field levels for one pair, keyed like the ``fields`` section of matching.yaml."""
    return {
        "given_name": compare_given(a.given_name, b.given_name, nicknames),
        "family_name": compare_family(a.family_name, b.family_name),
        "birth_date": compare_birth_date(a.birth_date, b.birth_date),
        "postcode": compare_postcode(a.postcode, b.postcode),
        "sex": compare_sex(a.sex, b.sex),
    }
