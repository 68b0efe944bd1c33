"""Identifier validation and the conflict rules: invalid identifiers are flagged and never linked on."""

from __future__ import annotations

import random
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from connectors.identifiers import NHS_NUMBER_SYSTEM, UPN_SYSTEM, is_valid_nhs_number, is_valid_upn
from hub.events.model import Identifier
from hub.synth import identifiers as synth_ids
from projections.identity import rules

LOCAL = "urn:onestory:id:RX1:MR"


def ident(system: str, value: str, validated: bool = True) -> Identifier:
    return {"system": system, "value": value, "validated": validated}


def test_valid_identifiers_are_kept_in_linking_priority() -> None:
    checked = rules.check_identifiers(
        [ident(LOCAL, "M1"), ident(UPN_SYSTEM, "b801200005001"), ident(NHS_NUMBER_SYSTEM, "943 476 5870")]
    )
    assert checked.valid == [(NHS_NUMBER_SYSTEM, "9434765870"), (UPN_SYSTEM, "B801200005001"), (LOCAL, "M1")]
    assert checked.invalid == []


def test_invalid_identifiers_are_flagged_whatever_the_source_claims() -> None:
    checked = rules.check_identifiers(
        [ident(NHS_NUMBER_SYSTEM, "9434765871"), ident(UPN_SYSTEM, "A801200005001"), ident(LOCAL, "X", False)]
    )
    assert checked.valid == []
    assert checked.invalid == [
        (NHS_NUMBER_SYSTEM, "check-digit"),
        (UPN_SYSTEM, "check-letter"),
        (LOCAL, "not-validated-by-source"),
    ]


def test_flag_reasons_carry_no_identifier_values() -> None:
    checked = rules.check_identifiers([ident(NHS_NUMBER_SYSTEM, "9434765871")])
    assert all("9434765871" not in reason for _, reason in checked.invalid)


@given(st.integers(min_value=0, max_value=2**32))
def test_synthetic_identifiers_are_valid_and_typos_are_not(seed: int) -> None:
    rng = random.Random(seed)
    number = synth_ids.nhs_number(rng)
    assert number.startswith("999") and is_valid_nhs_number(number)
    assert not is_valid_nhs_number(synth_ids.mistyped_nhs_number(rng, number))
    assert is_valid_upn(synth_ids.upn(rng, "383"))


def test_record_key_is_independent_of_identifier_order_but_not_of_the_source() -> None:
    a = [ident(LOCAL, "M1"), ident(NHS_NUMBER_SYSTEM, "9434765870")]
    assert rules.record_key("RX1", a) == rules.record_key("RX1", list(reversed(a)))
    assert rules.record_key("RX1", a) != rules.record_key("RX2", a)


def test_nhs_number_with_a_different_birth_date_is_a_conflict() -> None:
    assert rules.nhs_dob_conflict([date(2011, 3, 4)], date(2011, 3, 5))
    assert not rules.nhs_dob_conflict([date(2011, 3, 4)], date(2011, 3, 4))
    assert not rules.nhs_dob_conflict([None], date(2011, 3, 4))
    assert not rules.nhs_dob_conflict([date(2011, 3, 4)], None)


def test_possible_twin_needs_same_family_and_birth_date_with_different_given_names() -> None:
    twin = {"given_name": "disagree", "family_name": "exact", "birth_date": "exact"}
    assert rules.possible_twin(twin)
    assert not rules.possible_twin(twin | {"given_name": "nickname"})
    assert rules.possible_twin(twin | {"birth_date": "transposed"}), "one twin's record keyed 10/04 for 04/10"
    assert rules.possible_twin(twin | {"birth_date": "near"}), "a day out"
    assert not rules.possible_twin(twin | {"birth_date": "one_part"})
    assert rules.possible_twin(twin | {"family_name": "similar"}), "a typo in the surname does not hide a twin"
    assert not rules.possible_twin(twin | {"family_name": "disagree"})
    assert rules.pair_key("b", "a") == rules.pair_key("a", "b")


def test_a_birth_date_belongs_to_a_split_off_child_only_when_exactly_one_has_it() -> None:
    born, other = date(2011, 3, 4), date(2011, 3, 9)
    assert rules.holder_of_birth_date({"b": [born, None], "c": [other]}, born) == "b"
    assert rules.holder_of_birth_date({"b": [other]}, born) is None
    assert rules.holder_of_birth_date({"b": [born], "c": [born]}, born) is None, "two candidates: a human decides"
