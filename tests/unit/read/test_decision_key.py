"""A read decides once per distinct decision key: decide must not look at an entry's id or time.

If the consent engine starts to use either (say, consent periods against when the entry happened), this
test fails and hub.disclosure.decide.decision_key must grow to include it.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from consent_engine import Entry, decide
from hub.commands.bench_consent import NOW, workload
from hub.disclosure.decide import ChildContext, decision_key, level_for, levels_for
from hub.policy_files import load_policy

POLICY = load_policy(None)


def _row(e: Entry) -> dict[str, Any]:
    """A timeline row as the projection stores it (the inverse of hub.disclosure.decide.entry_of)."""
    basis = e.sharing_basis
    return {
        "entry_id": e.id,
        "child_id": e.child_id,
        "source_org": e.source_organisation,
        "category": e.category,
        "sensitivity_labels": list(e.labels),
        "sharing_basis": {
            "kind": basis.kind.value,
            "reference": basis.reference,
            "decided_by": basis.decision_maker,
            "reason": basis.reason,
        },
        "occurred_at": e.occurred_at,
    }


def test_decide_ignores_entry_id_and_time() -> None:
    for consents, relationships, viewer, entry in workload(POLICY, children=60):
        other = dataclasses.replace(entry, id=entry.id + "-x", occurred_at=NOW - timedelta(days=3000))
        assert decide(POLICY, consents, relationships, viewer, entry, NOW) == decide(
            POLICY, consents, relationships, viewer, other, NOW
        )


def test_levels_for_matches_deciding_every_row() -> None:
    inputs = workload(POLICY, children=30)
    for child in sorted({e.child_id for _, _, _, e in inputs}):
        mine = [(c, r, v, e) for c, r, v, e in inputs if e.child_id == child]
        consents, relationships, viewer, _ = mine[0]
        for updating in (False, True):
            ctx = ChildContext(child, tuple(consents), tuple(relationships), (), updating)
            rows = [_row(e) for *_, e in mine] * 3  # repeats, as weekly entries do
            assert levels_for(POLICY, ctx, viewer, rows, NOW) == [level_for(POLICY, ctx, viewer, r, NOW) for r in rows]
    assert decision_key(_row(inputs[0][3])) != decision_key(_row(inputs[1][3]))
