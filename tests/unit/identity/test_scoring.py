"""Fellegi–Sunter scoring: configuration, bands, and properties the weights must keep."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from projections.identity.compare import Demographics
from projections.identity.scoring import MatchConfig, Scorer

SCORER = Scorer.bundled()
dates = st.dates(min_value=date(2005, 1, 1), max_value=date(2024, 12, 31))


def person(
    given: str = "Amara",
    family: str = "Okafor",
    dob: date | None = date(2011, 3, 4),
    sex: str = "F",
    postcode: str = "LS1 4AP",
) -> Demographics:
    return Demographics.of(given, family, dob, sex, postcode)


def test_bundled_config_is_versioned_and_ordered() -> None:
    config = MatchConfig.bundled()
    assert config.version
    assert config.review_threshold < config.link_threshold
    assert config.weights["birth_date"]["exact"] > config.weights["birth_date"]["transposed"] > 0


def test_config_rejects_thresholds_the_wrong_way_round() -> None:
    text = "version: x\nthresholds: {link: 1, review: 2}\nfields: {}\nblocking: {max_block_size: 1}\n"
    with pytest.raises(ValueError, match="review threshold"):
        MatchConfig.from_yaml(text)


def test_same_child_links_siblings_and_twins_do_not() -> None:
    assert SCORER.score(person(), person()).band == "link"
    moved = person(postcode="BD3 9ZZ")
    assert SCORER.score(person(), moved).band == "link"
    sibling = person(given="Kofi", dob=date(2013, 6, 1), sex="M")
    assert SCORER.score(person(), sibling).band == "distinct"


def test_a_nickname_scores_between_the_same_name_and_a_different_one() -> None:
    a = person(given="William", sex="M")
    same, nick, other = (SCORER.score(a, person(given=g, sex="M")).total for g in ("William", "Bill", "Kofi"))
    assert same > nick > other


@given(dates, dates)
def test_a_transposed_birth_date_scores_above_a_different_one(dob: date, other: date) -> None:
    assume(dob.day <= 12 and dob.day != dob.month)
    transposed = dob.replace(day=dob.month, month=dob.day)
    assume(other not in (dob, transposed) and (other.year, other.month) != (dob.year, dob.month))
    assume((other.year, other.day) != (dob.year, dob.day) and (other.month, other.day) != (dob.month, dob.day))
    base = person(dob=dob)
    assert SCORER.score(base, person(dob=transposed)).total > SCORER.score(base, person(dob=other)).total


@given(
    st.text("abcdefghij", min_size=1, max_size=8),
    st.text("abcdefghij", min_size=1, max_size=8),
    dates,
    dates,
    st.sampled_from(["LS1 4AP", "LS1 4AQ", "BD3 9ZZ", ""]),
)
def test_score_is_symmetric(g1: str, g2: str, d1: date, d2: date, postcode: str) -> None:
    a, b = person(given=g1, dob=d1), person(given=g2, dob=d2, postcode=postcode)
    assert SCORER.score(a, b).total == pytest.approx(SCORER.score(b, a).total)


@given(dates, st.integers(min_value=1, max_value=3))
def test_missing_values_weigh_nothing(dob: date, days: int) -> None:
    full = person(dob=dob)
    without = person(dob=None)
    near = person(dob=dob + timedelta(days=400 * days))
    assert SCORER.score(full, without).total >= SCORER.score(full, near).total


def test_explain_holds_levels_not_personal_data() -> None:
    explained = SCORER.score(person(), person(given="Mara")).explain()
    assert "Amara" not in str(explained) and "Okafor" not in str(explained)
    assert explained["levels"]["given_name"] == "nickname"  # type: ignore[index]


@given(
    st.sampled_from(["Amara", "Mara", "Kemi", "Amarah", ""]),
    st.sampled_from(["Okafor", "Okafur", "Smith", "King-Okafor", ""]),
    st.one_of(st.none(), dates),
    st.sampled_from(["M", "F", ""]),
    st.sampled_from(["LS1 4AP", "LS1 4AQ", "LS2 1AA", "BD3 9ZZ", ""]),
)
def test_the_cheap_pre_check_never_drops_a_pair_that_could_be_linked_or_reviewed(
    given_name: str, family: str, dob: date | None, sex: str, postcode: str
) -> None:
    a = person()
    b = Demographics.of(given_name, family, dob, sex, postcode)
    full = SCORER.score(a, b)
    quick = SCORER.score_if_plausible(a, b)
    if quick is None:
        assert full.band == "distinct"
    else:
        assert quick.total == pytest.approx(full.total) and quick.levels == full.levels


def test_a_child_is_scored_on_everything_its_records_know() -> None:
    """A nickname from one record, birth date and address from another: together a link, apart a review."""
    nickname_moved = person(given="Millie", postcode="BD3 9ZZ", dob=None, sex="")
    typo_date = person(dob=date(2011, 3, 5))
    new = person(given="Amelia")
    assert max(SCORER.score(new, nickname_moved).total, SCORER.score(new, typo_date).total) < (
        SCORER.config.link_threshold
    )
    together = SCORER.score_child(new, [nickname_moved, typo_date])
    assert together is not None and together.band == "link"
    assert together.levels == {
        "given_name": "nickname",
        "family_name": "exact",
        "birth_date": "near",
        "postcode": "exact",
        "sex": "agree",
    }


def test_a_twin_stays_a_possible_twin_against_all_of_a_childs_records() -> None:
    from projections.identity.rules import possible_twin

    twin = person(given="Kemi")
    score = SCORER.score_child(twin, [person(), person(given="Millie", postcode="BD3 9ZZ")])
    assert score is not None and possible_twin(score.levels)


@given(st.lists(st.sampled_from([person(), person(given="Amarah"), person(dob=None), person(postcode="")]), min_size=1))
def test_one_record_scores_like_score_and_more_records_never_score_less(records: list[Demographics]) -> None:
    new = person(given="Amy")
    alone = SCORER.score_child(new, records[:1])
    assert alone is not None and alone.total == pytest.approx(SCORER.score(new, records[0]).total)
    together = SCORER.score_child(new, records)
    assert together is not None and together.total >= max(SCORER.score(new, r).total for r in records) - 1e-9


def test_a_twin_with_a_mistyped_birth_date_is_never_a_link() -> None:
    """Twins at one address, one twin's record with day and month swapped: as high as a link on the score."""
    from projections.identity.rules import possible_twin

    twin = person(given="Maya", dob=date(2011, 4, 3))
    score = SCORER.score(person(given="Luna"), twin)
    assert score.band == "link" and possible_twin(score.levels)
