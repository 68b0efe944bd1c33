"""A worker remembers a child's decisions across batches until the child's horizon (hub.disclosure.decision_memo).

That is sound only if the consent engine gives the same decision at every moment from the one it was made at
up to (not including) the horizon, for every viewer without break-glass; these tests hold it to that over
the consent engine's own generated scenarios, and check the memo forgets when the inputs or the time move on.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from consent_engine import Consenter, ConsentRecord, ConsentStatus, Relationship, decide
from hub.disclosure.decide import entry_of
from hub.disclosure.decision_memo import DecisionMemo, horizon
from tests.unit.consent_engine.builders import NOW
from tests.unit.consent_engine.test_consent_properties import POLICY, PROPERTY_SETTINGS, scenarios


@PROPERTY_SETTINGS
@given(scenarios(), st.floats(min_value=0.0, max_value=1.0, exclude_max=True), st.integers(0, 3))
def test_a_decision_holds_until_the_horizon(scenario, fraction, before_end) -> None:  # type: ignore[no-untyped-def]
    consents, rels, viewer, entry = scenario
    viewer = dataclasses.replace(viewer, break_glass=None)
    # the hub's entries carry no time of their own basis (entry_of): the horizon is the child's
    entry = dataclasses.replace(entry, sharing_basis=dataclasses.replace(entry.sharing_basis, recorded_at=None))
    until = horizon(consents, rels, NOW)
    assert until > NOW
    later = NOW + (until - NOW) * fraction
    last = until - timedelta(microseconds=1 + before_end)  # the very last moments before it
    first = decide(POLICY, consents, rels, viewer, entry, NOW)
    for moment in (later, last):
        if moment >= NOW:
            assert decide(POLICY, consents, rels, viewer, entry, moment) == first


def test_the_hubs_entries_carry_no_time_of_their_own_basis() -> None:
    row = {
        "entry_id": "e1",
        "child_id": "c1",
        "source_org": "RX4",
        "category": "referral",
        "sensitivity_labels": [],
        "sharing_basis": {"kind": "lawful_basis", "reference": "x", "recorded_at": "2030-01-01T00:00:00+00:00"},
        "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    assert entry_of(row).sharing_basis.recorded_at is None


def test_the_horizon_is_the_first_future_boundary_or_the_next_midnight() -> None:
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert horizon([], [], now) == datetime(2026, 3, 3, tzinfo=UTC)
    ends = Relationship("RX4", now - timedelta(days=1), now + timedelta(hours=2))
    starts = ConsentRecord(
        "C1", ConsentStatus.GIVEN, Consenter.YOUNG_PERSON, now - timedelta(days=1), start=now + timedelta(hours=1)
    )
    assert horizon([starts], [ends], now) == now + timedelta(hours=1)
    assert horizon([], [ends], now) == now + timedelta(hours=2)


def test_the_memo_keeps_decisions_only_for_the_same_inputs_before_the_horizon() -> None:
    memo = DecisionMemo(limit=2)
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    rel = Relationship("RX4", now - timedelta(days=1), now + timedelta(hours=2))
    kept = memo.for_child("c1", [], [rel], now)
    kept["k"] = "decided"
    assert memo.for_child("c1", [], [rel], now + timedelta(hours=1))["k"] == "decided"
    assert memo.for_child("c1", [], [rel], now + timedelta(hours=2)) == {}  # the relationship ended
    again = memo.for_child("c1", [], [rel], now)
    again["k"] = "decided"
    assert memo.for_child("c1", [], [rel], now - timedelta(seconds=1)) == {}  # the clock went back
    memo.for_child("c1", [], [rel], now)["k"] = "decided"
    other = Relationship("100001", now - timedelta(days=1))
    assert memo.for_child("c1", [], [rel, other], now) == {}  # someone joined the team
    memo.for_child("c2", [], [], now)
    memo.for_child("c3", [], [], now)
    assert len(memo) == 2
    memo.forget(["c2"])
    assert len(memo) == 1
    memo.forget()
    assert len(memo) == 0
