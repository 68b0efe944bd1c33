"""The projection folds are pure and order-insensitive: any arrival order gives the same projections."""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.disclosure.episodes import fold_episode, waiting_days
from hub.disclosure.rules import bundled_rules
from projections.now import empty_now, fold_now
from projections.team import fold_team, member_id
from tests.support.events import T0, event
from tests.support.story import CAMHS, COUNCIL, GP, SCHOOL, VCSE, story

CHILD = str(uuid.UUID(int=1))
RULES = bundled_rules()


def fold_all(events: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    team: dict[str, Any] = {}
    episodes: dict[str, Any] = {}
    now = empty_now()
    for e in events:
        fold_team(team, e, RULES)
        fold_episode(episodes, e, RULES)
        fold_now(now, e, RULES)
    return team, episodes, now


def test_team_around_the_child() -> None:
    team, _, _ = fold_all(story(CHILD))
    by_org = {m["organisation"]: m for m in team.values()}
    assert set(by_org) == {SCHOOL, CAMHS, GP, COUNCIL, VCSE}
    assert by_org[SCHOOL]["since"] == T0 + timedelta(days=1)
    assert by_org[CAMHS]["until"] == T0 + timedelta(days=40), "the agreed ending closes CAMHS's involvement"
    assert by_org[COUNCIL]["until"] is None


def test_one_episode_across_agencies_with_waiting_time() -> None:
    _, episodes, _ = fold_all(story(CHILD))
    assert len(episodes) == 1
    ep = episodes[f"{CHILD}|R1"]
    assert ep["status"] == "ended"
    assert ep["tellers"] == sorted([CAMHS, VCSE])
    assert ep["referred_at"] == T0 + timedelta(days=2)
    assert ep["first_contact_at"] == T0 + timedelta(days=12)
    assert waiting_days(ep, T0 + timedelta(days=100)) == 10.0


def test_declined_referral_says_where_it_was_redirected() -> None:
    r = {"referral": "R9"}
    events = [
        event(
            "referral.made",
            "referral",
            SCHOOL,
            "Referral",
            {"referral_id": "R9", "status": "made", "to_organisation": CAMHS},
            child_id=CHILD,
            day=1,
            correlation=r,
        ),
        event(
            "referral.declined",
            "referral",
            CAMHS,
            "Referral",
            {"referral_id": "R9", "status": "declined", "redirected_to": VCSE},
            child_id=CHILD,
            day=4,
            correlation=r,
        ),
    ]
    _, episodes, _ = fold_all(events)
    ep = episodes[f"{CHILD}|R9"]
    assert (ep["status"], ep["referred_by"], ep["referred_to"], ep["redirected_to"]) == (
        "declined",
        SCHOOL,
        CAMHS,
        VCSE,
    )
    assert waiting_days(ep, T0 + timedelta(days=30)) is None
    team, _, _ = fold_all(events)
    assert member_id(CHILD, CAMHS) not in team, "declining a referral is not involvement"


def test_now_holds_thrive_voice_plans_and_ending() -> None:
    _, _, now = fold_all(story(CHILD))
    assert now["thrive"]["grouping"] == "Getting Help"
    assert "young person" in now["thrive"]["agreed_by"]
    assert now["ending"]["criteria"].startswith("Sleeping most nights")
    assert [v["words"] for v in now["voice"]] == ["I feel listened to now"]
    plans = {p["plan_type"]: p["open"] for p in now["plans"].values()}
    assert plans == {"child-in-need": True, "camhs-care-plan": False}


def test_a_later_grouping_wins_whatever_the_arrival_order() -> None:
    early = event("thrive.agreed", "thrive", CAMHS, "Thrive", {"grouping": "Getting Advice"}, child_id=CHILD, day=1)
    late = event("thrive.agreed", "thrive", CAMHS, "Thrive", {"grouping": "Getting Help"}, child_id=CHILD, day=9)
    for order in ([early, late], [late, early]):
        _, _, now = fold_all(order)
        assert now["thrive"]["grouping"] == "Getting Help"


@settings(max_examples=40, deadline=None)
@given(st.permutations(range(len(story(CHILD)))), st.integers(min_value=0, max_value=3))
def test_folds_are_order_insensitive_and_idempotent(order: list[int], repeats: int) -> None:
    events = story(CHILD)
    shuffled = [copy.deepcopy(events[i]) for i in order] + [copy.deepcopy(events[i]) for i in order[:repeats]]
    assert fold_all(shuffled)[:2] == fold_all(events)[:2]
    now_a, now_b = fold_all(shuffled)[2], fold_all(events)[2]
    assert now_a["thrive"] == now_b["thrive"] and now_a["ending"] == now_b["ending"]
    assert now_a["voice"] == now_b["voice"]
    assert {k: v["open"] for k, v in now_a["plans"].items()} == {k: v["open"] for k, v in now_b["plans"].items()}
