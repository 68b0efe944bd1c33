"""Blocking keys: the same child shares a key despite each kind of error; keys hold no readable names."""

from __future__ import annotations

from datetime import date

from projections.identity.blocking import block_keys
from projections.identity.compare import Demographics
from projections.identity.names import Nicknames

NICK = Nicknames.bundled()


def keys(
    given: str = "William", family: str = "Okafor", dob: date | None = date(2011, 3, 4), postcode: str = "LS1 4AP"
) -> set[str]:
    return set(block_keys(Demographics.of(given, family, dob, "M", postcode), NICK))


def test_each_error_still_shares_a_block() -> None:
    base = keys()
    assert base & keys(given="Wiliam")  # typo
    assert base & keys(given="Bill", postcode="BD3 9ZZ")  # nickname and a move
    assert base & keys(family="Smith")  # adoption
    assert base & keys(dob=date(2011, 4, 3))  # transposed day and month
    assert base & keys(dob=date(2012, 3, 4))  # mistyped year
    assert base & keys(dob=None)  # self-referral without a date of birth
    assert base & keys(given="Bill", dob=None)  # ... and a nickname
    assert base & keys(given="Wimliam", dob=None)  # ... and a given-name typo at the same address
    assert base & keys(family="Okator", dob=None)  # ... and a surname typo (another Soundex) at the same address


def test_unrelated_children_share_no_block() -> None:
    assert not keys() & keys(given="Amara", family="Smith", dob=date(2014, 7, 9), postcode="BD3 9ZZ")


def test_keys_hold_no_readable_names() -> None:
    assert not any("okafor" in k.lower() or "william" in k.lower() for k in keys())
