"""The projector decides each kind of entry once per child and batch (hub.disclosure.decide.decision_key).

That is sound only while the consent engine's level ignores an entry's id and time; these tests hold it to
that, over the consent engine's own generated scenarios, and check the memo gives what deciding afresh gives.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from consent_engine import decide
from hub.disclosure.decide import class_decisions, decision_key, entry_of
from hub.disclosure.rules import bundled_rules
from projections.child_projector import _Decider, empty_child
from tests.unit.consent_engine.builders import NOW
from tests.unit.consent_engine.test_consent_properties import POLICY, PROPERTY_SETTINGS, scenarios


@PROPERTY_SETTINGS
@given(scenarios(), st.integers(min_value=-5000, max_value=5000))
def test_the_level_ignores_entry_id_and_time(scenario, hours) -> None:  # type: ignore[no-untyped-def]
    consents, rels, viewer, entry = scenario
    other = dataclasses.replace(entry, id="another-entry", occurred_at=NOW + timedelta(hours=hours))
    assert (
        decide(POLICY, consents, rels, viewer, entry, NOW).level
        == decide(POLICY, consents, rels, viewer, other, NOW).level
    )


def _row(entry_id: str, org: str, category: str, labels: list[str], basis: dict[str, str]) -> dict[str, object]:
    return {
        "entry_id": entry_id,
        "child_id": "child-1",
        "source_org": org,
        "category": category,
        "sensitivity_labels": labels,
        "sharing_basis": basis,
        "occurred_at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=len(entry_id)),
    }


def test_memoised_decisions_equal_fresh_ones_and_differ_where_the_key_differs() -> None:
    rules = bundled_rules()
    state = empty_child()
    since = datetime(2025, 1, 1, tzinfo=UTC)
    for org in ("100001", "RX4", "A81001"):
        state.team[org] = {"member_id": org, "child_id": "child-1", "organisation": org, "since": since, "until": None}
    decider = _Decider(POLICY, rules, state, NOW)
    orgs = ["100001", "RX4", "A81001"]
    categories = sorted(POLICY.categories)[:6]
    bases = [{"kind": "none"}, {"kind": "consent", "reference": "C1"}, {"kind": "lawful_basis", "reference": "x"}]
    rows = [
        _row(f"e{i}-{j}-{k}-{n}", org, cat, ["PSY"] if n else [], basis)
        for i, org in enumerate(orgs)
        for j, cat in enumerate(categories)
        for k, basis in enumerate(bases)
        for n in range(2)
    ]
    rows += [dict(r, entry_id=r["entry_id"] + "-again") for r in rows]  # memo hits
    for row in rows:
        fresh = class_decisions(POLICY, decider.consents, decider.rels, decider.classes, entry_of(row), NOW)
        assert decider.decisions(row) == fresh
    assert len(decider._memo) == len({decision_key(r) for r in rows}) < len(rows)
    assert any(decider.decisions(r) for r in rows), "the team's own entries are visible to someone"
    decided = decider.decisions(rows[0])
    decided["tampered"] = "full"
    assert "tampered" not in decider.decisions(rows[0]), "callers get their own copy"
