"""The projector loads a child's episodes only for children with an event that `touches_episodes`; that is
sound only if every other event leaves episodes alone, whatever episodes the child already has."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.disclosure.episodes import fold_episode, touches_episodes
from hub.disclosure.rules import bundled_rules
from tests.support.events import event
from tests.support.story import story

RULES = bundled_rules()
CHILD = str(uuid.UUID(int=1))
_ALL_KINDS = sorted(
    {
        k
        for section in RULES.raw.values()
        if isinstance(section, dict)
        for v in section.values()
        if isinstance(v, list)
        for k in v
        if isinstance(k, str) and "." in k
    }
)
_KINDS = st.sampled_from([*_ALL_KINDS, "observation.recorded", "unknown.kind"])
_REFS = st.sampled_from([None, "", "R1", "R2"])


def _events(kind: str, ref: str | None, n: int) -> dict[str, Any]:
    correlation = {} if ref is None else {RULES.value("episodes", "correlation_key"): ref}
    fields = {"referral_id": f"R{n}", "status": "made", "to_organisation": "RX4", "redirected_to": "VCSE1"}
    return event(kind, "referral", "A81001", "Referral", fields, child_id=CHILD, day=n, correlation=correlation, n=n)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_KINDS, _REFS), min_size=1, max_size=12), st.tuples(_KINDS, _REFS))
def test_an_event_that_does_not_touch_episodes_leaves_them_alone(history: list[Any], last: Any) -> None:
    episodes: dict[str, Any] = {}
    for n, (kind, ref) in enumerate(history):
        fold_episode(episodes, _events(kind, ref, n), RULES)
    probe = _events(*last, len(history))
    before = copy.deepcopy(episodes)
    changed = fold_episode(episodes, probe, RULES)
    if not touches_episodes(probe, RULES):
        assert changed == set() and episodes == before
        assert fold_episode({}, probe, RULES) == set()


def test_the_story_has_events_on_both_sides_of_the_gate() -> None:
    events = story(CHILD)
    touching = [e for e in events if touches_episodes(e, RULES)]
    assert 0 < len(touching) < len(events)
    episodes: dict[str, Any] = {}
    for e in events:
        changed = fold_episode(episodes, e, RULES)
        assert touches_episodes(e, RULES) or not changed
