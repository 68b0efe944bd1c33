from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.identifiers import is_valid_nhs_number, is_valid_upn, normalise_nhs_number


@pytest.mark.parametrize("number", ["9434765870", "943 476 5870", "943-476-5870", "9999999999", "9449305552"])
def test_valid_nhs_numbers(number: str) -> None:
    assert is_valid_nhs_number(number)


@pytest.mark.parametrize("number", ["9434765871", "943476587", "94347658700", "943476587X", "", "1000000010"])
def test_invalid_nhs_numbers(number: str) -> None:
    assert not is_valid_nhs_number(number)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_one_check_digit_fits_unless_the_remainder_is_ten(stem: str) -> None:
    valid = [d for d in "0123456789" if is_valid_nhs_number(stem + d)]
    total = sum(int(c) * w for c, w in zip(stem, range(10, 1, -1), strict=True))
    assert len(valid) == (0 if 11 - total % 11 == 10 else 1)


def test_normalise_strips_spaces_and_dashes() -> None:
    assert normalise_nhs_number(" 943 476-5870 ") == "9434765870"


def test_upn_check_letter() -> None:
    assert is_valid_upn("B801200005001")
    assert is_valid_upn("b801200005001")
    assert not is_valid_upn("C801200005001")
    assert not is_valid_upn("B80120000500")
    assert not is_valid_upn("I801200005001")
