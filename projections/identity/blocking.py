"""Blocking: a record is only scored against records that share at least one block key.

Each key tolerates a different kind of error, so a pair is missed only if every key differs:
  n: family-name Soundex + birth year        (given-name typos, nicknames, moves, transposed day/month)
  g: given-name Soundex + day/month set + year  (surname change after adoption, moves)
  k: nickname class + day/month set + year      (Bill vs William, with a surname change or a move)
  p: full postcode + birth year              (name typos at the same address)
  y: family Soundex + given initial + day and month  (a mistyped birth year)
  x: family Soundex + given Soundex          (a record without a date of birth, e.g. a self-referral)
  z: family Soundex + nickname class         (no date of birth and a nickname: Mo for Muhammad)
  q: full postcode + family Soundex          (no date of birth, given name typo or middle name used)
  w: full postcode + given Soundex           (no date of birth and a surname typo)
Keys hold no readable personal data (Soundex codes, class ids and a year), though they are still personal
data and stay in the database. Blocks above ``max_block_size`` are skipped so cost stays near linear.
"""

from __future__ import annotations

from projections.identity.compare import Demographics
from projections.identity.names import Nicknames, soundex


def block_keys(d: Demographics, nicknames: Nicknames) -> list[str]:
    keys: list[str] = []
    given = d.given_name.split()[0] if d.given_name else ""
    family = d.family_name
    dob = d.birth_date
    if family and dob:
        keys.append(f"n:{soundex(family)}{dob.year}")
    if given and dob:
        day_month = f"{min(dob.day, dob.month):02d}{max(dob.day, dob.month):02d}"
        keys.append(f"g:{soundex(given)}{day_month}{dob.year}")
        canonical = nicknames.canonical(given)
        if canonical != given:
            keys.append(f"k:{canonical}{day_month}{dob.year}")
    if d.postcode and dob:
        keys.append(f"p:{d.postcode.replace(' ', '')}{dob.year}")
    if family and given and dob:
        keys.append(f"y:{soundex(family)}{given[0]}{dob.month:02d}{dob.day:02d}")
    if family and given:
        keys.append(f"x:{soundex(family)}{soundex(given)}")  # also reaches records without a date of birth
        canonical = nicknames.canonical(given)
        if canonical != given:
            keys.append(f"z:{soundex(family)}{canonical}")
    if d.postcode:
        compact = d.postcode.replace(" ", "")
        if family:
            keys.append(f"q:{compact}{soundex(family)}")
        if given:
            keys.append(f"w:{compact}{soundex(given)}")
    return keys
