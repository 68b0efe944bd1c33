"""Comparators and string measures: known values and symmetry."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.identity.compare import (
    Demographics,
    compare,
    compare_birth_date,
    compare_family,
    compare_given,
    compare_postcode,
)
from projections.identity.names import Nicknames, jaro_winkler, normalise_name, normalise_postcode, soundex

NICK = Nicknames.bundled()
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz -'", max_size=12)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2026, 12, 31))
postcodes = st.sampled_from(["LS1 4AP", "LS1 4AQ", "LS1 5AP", "LS2 1AA", "BD3 9ZZ", ""])


@pytest.mark.parametrize(
    ("name", "code"),
    [("Robert", "R163"), ("Rupert", "R163"), ("Ashcraft", "A261"), ("Tymczak", "T522"), ("Pfister", "P236")],
)
def test_soundex_known_values(name: str, code: str) -> None:
    assert soundex(name) == code


def test_jaro_winkler_known_values() -> None:
    assert jaro_winkler("martha", "marhta") == pytest.approx(0.961, abs=0.001)
    assert jaro_winkler("dwayne", "duane") == pytest.approx(0.84, abs=0.001)
    assert jaro_winkler("abc", "abc") == 1.0
    assert jaro_winkler("", "abc") == 0.0


@given(names, names)
def test_jaro_winkler_is_symmetric_and_bounded(a: str, b: str) -> None:
    assert jaro_winkler(a, b) == pytest.approx(jaro_winkler(b, a))
    assert 0.0 <= jaro_winkler(a, b) <= 1.0


def test_normalisation() -> None:
    assert normalise_name("  Zoë  O'Brien-Smith ") == "zoe obrien smith"
    assert normalise_postcode("ls14ap") == "LS1 4AP"
    assert normalise_postcode(" LS1  4AP") == "LS1 4AP"


def test_given_name_levels() -> None:
    assert compare_given("william", "bill", NICK) == "nickname"
    assert compare_given("amara jane", "amara", NICK) == "exact"
    assert compare_given("jessica", "jesica", NICK) == "similar"
    assert compare_given("amara", "oliver", NICK) == "disagree"
    assert compare_given("", "oliver", NICK) is None


def test_family_name_levels() -> None:
    assert compare_family("king gardner", "gardner") == "partial"
    assert compare_family("thompson", "thomson") == "similar"
    assert compare_family("smith", "okafor") == "disagree"


def test_birth_date_levels() -> None:
    assert compare_birth_date(date(2011, 3, 4), date(2011, 4, 3)) == "transposed"
    assert compare_birth_date(date(2011, 3, 4), date(2011, 3, 5)) == "near"
    assert compare_birth_date(date(2011, 3, 31), date(2011, 4, 2)) == "near", "a mistyped day across a month end"
    assert compare_birth_date(date(2011, 12, 31), date(2012, 1, 1)) == "near"
    assert compare_birth_date(date(2011, 3, 4), date(2011, 3, 8)) == "one_part"
    assert compare_birth_date(date(2011, 3, 4), date(2012, 3, 4)) == "one_part", "a mistyped year"
    assert compare_birth_date(date(2011, 3, 4), date(2012, 5, 6)) == "disagree"
    assert compare_birth_date(None, date(2012, 5, 6)) is None


def test_postcode_levels() -> None:
    assert compare_postcode("LS1 4AP", "LS1 4AP") == "exact"
    assert compare_postcode("LS1 4AP", "LS1 4XX") == "sector"
    assert compare_postcode("LS1 4AP", "LS1 9XX") == "district"
    assert compare_postcode("LS1 4AP", "BD1 4AP") == "disagree"


@given(names, names, names, names, dates, dates, st.sampled_from("MF "), st.sampled_from("MF "), postcodes, postcodes)
def test_every_comparator_is_symmetric(
    g1: str, g2: str, f1: str, f2: str, d1: date, d2: date, s1: str, s2: str, p1: str, p2: str
) -> None:
    a = Demographics.of(g1, f1, d1, s1, p1)
    b = Demographics.of(g2, f2, d2, s2, p2)
    assert compare(a, b, NICK) == compare(b, a, NICK)
