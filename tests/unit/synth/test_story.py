"""The per-child story: inside the window, in time order, only from agencies that hold a record, journeys in order."""

from __future__ import annotations

from datetime import date

from hub.synth import generate_population, generate_records
from hub.synth.events import child_story, term_weeks


def _stories(children: int = 400, seed: int = 5, years: int = 2):  # type: ignore[no-untyped-def]
    population = generate_population(children, seed, years)
    records = generate_records(population)
    by_child: dict[int, list] = {}  # type: ignore[type-arg]
    for r in records:
        by_child.setdefault(r.child_index, []).append(r)
    return (
        population,
        by_child,
        [child_story(population, c, by_child.get(c.index, []), seed) for c in population.children],
    )


def test_happenings_are_in_the_window_in_order_and_from_agencies_that_know_the_child() -> None:
    population, by_child, stories = _stories()
    for child, story in zip(population.children, stories, strict=True):
        kinds = {r.kind for r in by_child.get(child.index, [])}
        assert [(h.day, h.minute) for h in story] == sorted((h.day, h.minute) for h in story)
        for h in story:
            assert population.start <= h.day < population.end
            assert h.agency == "self" or h.agency in kinds
            assert h.record is None or h.record.child_index == child.index


def test_camhs_journeys_run_in_order() -> None:
    _, _, stories = _stories()
    journeys = 0
    for story in stories:
        decision = next((h for h in story if h.what == "referral-decision"), None)
        if decision is None or not decision.data["accepted"]:
            continue
        journeys += 1
        ref = decision.data["referral_id"]
        made = [h for h in story if h.agency != "camhs" and h.data.get("referral_id") == ref and "error" not in h.data]
        assert len(made) == 1 and made[0].agency == decision.data["by"] and made[0].day <= decision.day
        seen = [h.what for h in story if h.agency == "camhs" and h.what in ("episode", "thrive", "careplan")]
        if "thrive" in seen:
            assert seen.index("episode") < seen.index("thrive")
    assert journeys > 10


def test_term_weeks_skip_the_summer_holiday() -> None:
    weeks = term_weeks(date(2025, 7, 1), date(2025, 10, 1))
    assert weeks and all(w.month != 8 for w in weeks)
    assert date(2025, 9, 1) in weeks and date(2025, 7, 28) not in weeks


def test_a_child_s_story_does_not_depend_on_the_other_children() -> None:
    population, by_child, stories = _stories(children=60, seed=9, years=1)
    child = population.children[17]
    again = child_story(population, child, by_child.get(child.index, []), 9)
    assert again == stories[17]
