"""Who gets what: the diff between what a recipient may see now and what it holds. Pure."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from consent_engine import Decision, Level
from hub.outbound.feed_plan import RETRACTED, Sent, Visible, audit_entries, next_record_id, plan

R = "feed:RX4"


def seen(level: Level) -> Visible:
    decision = Decision(level, "consent:C1" if level is not Level.NONE else None, "v1", (("rule", "why"),))
    return Visible(decision, None if level is Level.NONE else {"id": "x", "level": level.value})


def test_new_entries_are_disclosed_at_their_level_and_none_is_never_sent() -> None:
    ops = plan(R, {"a": seen(Level.FULL), "b": seen(Level.SUMMARY), "c": seen(Level.FLAG), "d": seen(Level.NONE)}, {})
    assert [(o.op, o.entry_id, o.level) for o in ops] == [
        ("disclose", "a", "full"),
        ("disclose", "b", "summary"),
        ("disclose", "c", "flag"),
    ]
    assert all(o.content == {"id": "x", "level": o.level} for o in ops)


def test_redelivery_sends_nothing_and_a_changed_level_replaces() -> None:
    first = plan(R, {"a": seen(Level.FULL)}, {})
    held = {"a": Sent("full", first[0].record_id)}
    assert plan(R, {"a": seen(Level.FULL)}, held) == []
    narrowed = plan(R, {"a": seen(Level.SUMMARY)}, held)
    assert [(o.op, o.level) for o in narrowed] == [("disclose", "summary")]
    assert narrowed[0].record_id != first[0].record_id


def test_retractions_for_held_entries_that_fell_to_none_or_left_the_record() -> None:
    held = {"a": Sent("full", "r1"), "b": Sent("flag", "r2"), "c": Sent(RETRACTED, "r3"), "d": Sent("summary", "r4")}
    ops = plan(
        R, {"a": seen(Level.NONE), "b": seen(Level.FLAG), "c": seen(Level.NONE)}, held, existing=frozenset("abc")
    )
    assert [(o.op, o.entry_id, o.reason) for o in ops] == [
        ("retract", "a", "no-longer-permitted"),
        ("retract", "d", "entry-withdrawn"),
    ]
    assert all(o.content is None and o.level == "none" for o in ops)
    assert audit_entries(ops) == [{"id": "a", "level": "none"}, {"id": "d", "level": "none"}]


def test_candidates_limit_new_disclosures_but_never_retractions() -> None:
    held = {"old": Sent("full", "r1")}
    ops = plan(
        R, {"new": seen(Level.FULL), "other": seen(Level.FULL), "old": seen(Level.NONE)}, held, candidates={"new"}
    )
    assert [(o.op, o.entry_id) for o in ops] == [("disclose", "new"), ("retract", "old")]


def test_record_ids_chain_so_a_re_disclosure_after_a_retraction_is_new() -> None:
    a = next_record_id(R, "e", None, "disclose", "full")
    b = next_record_id(R, "e", a, "retract", "none")
    c = next_record_id(R, "e", b, "disclose", "full")
    assert len({a, b, c}) == 3 and a == next_record_id(R, "e", None, "disclose", "full")
    assert a != next_record_id("feed:990", "e", None, "disclose", "full")


LEVELS = st.sampled_from(list(Level))


@given(st.dictionaries(st.sampled_from("abcdef"), LEVELS), st.dictionaries(st.sampled_from("abcdef"), LEVELS))
def test_applying_the_plan_leaves_the_recipient_holding_exactly_what_it_may_see(
    before: dict[str, Level], after: dict[str, Level]
) -> None:
    held = {k: Sent(v.value, f"r-{k}") for k, v in before.items() if v is not Level.NONE}
    ops = plan(R, {k: seen(v) for k, v in after.items()}, held)
    state = {k: s.level for k, s in held.items()}
    for op in ops:
        if op.op == "disclose":
            state[op.entry_id] = op.level
        else:
            state.pop(op.entry_id)
    assert state == {k: v.value for k, v in after.items() if v is not Level.NONE}
    assert (
        plan(R, {k: seen(v) for k, v in after.items()}, {k: Sent(v, "x") for k, v in state.items()}) == []
    )  # applying it twice changes nothing
