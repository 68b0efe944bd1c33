"""Pairwise evaluation arithmetic and the synthetic population's promises (deterministic, valid, truthful)."""

from __future__ import annotations

from connectors.identifiers import NHS_NUMBER_SYSTEM, UPN_SYSTEM, is_valid_nhs_number, is_valid_upn
from hub.synth import generate_population, generate_records
from projections.identity.evaluation import confusion, linked_pairs_between


def test_confusion_counts_pairs() -> None:
    truth = {"a": 1, "b": 1, "c": 1, "d": 2}
    predicted = {"a": "x", "b": "x", "c": "y", "d": "y"}
    m = confusion(truth, predicted)
    assert (m.true_positive, m.false_positive, m.false_negative, m.true_negative) == (1, 1, 2, 2)
    assert m.precision == 0.5 and m.recall == 1 / 3
    assert linked_pairs_between([(1, 2)], truth, predicted) == 1


def test_population_is_deterministic_by_seed() -> None:
    one = generate_records(generate_population(200, seed=5))
    two = generate_records(generate_population(200, seed=5))
    other = generate_records(generate_population(200, seed=6))
    assert [r.as_json() for r in one] == [r.as_json() for r in two]
    assert [r.as_json() for r in one] != [r.as_json() for r in other]


def test_population_has_twins_siblings_and_valid_identifiers() -> None:
    population = generate_population(2000, seed=3)
    assert population.twins()
    for a, b in population.twins():
        ca, cb = population.children[a], population.children[b]
        assert ca.birth_date == cb.birth_date and ca.family_name == cb.family_name and ca.given_name != cb.given_name
    households: dict[int, int] = {}
    for child in population.children:
        households[child.household] = households.get(child.household, 0) + 1
        assert is_valid_nhs_number(child.nhs_number) and child.nhs_number.startswith("999")
        assert is_valid_upn(child.upn)
    assert max(households.values()) > 1
    records = generate_records(population)
    errors = {e for r in records for e in r.errors}
    assert {"nickname", "given-typo", "dob-transposed", "stale-postcode", "nhs-typo"} <= errors
    for record in records:
        child = population.children[record.child_index]
        for system, value in record.identifiers:
            if system == UPN_SYSTEM:
                assert value == child.upn
            if system == NHS_NUMBER_SYSTEM and "nhs-typo" not in record.errors:
                assert value == child.nhs_number


def test_national_identifiers_are_issued_once() -> None:
    """The 999 range is small enough that independent draws collide: 20,000 children would share ~220."""
    children = generate_population(20000, seed=1).children
    assert len({c.nhs_number for c in children}) == len(children)
    assert len({c.upn for c in children}) == len(children)
