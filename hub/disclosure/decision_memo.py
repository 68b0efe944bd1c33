"""Decisions a worker keeps for the children it owns, from one batch to the next, for as long as they hold.

The consent engine's level for an entry depends on the child's consent records and legitimate relationships,
the viewer, the entry's `decision_key` and the moment. Within a batch the projector and the feeds already
decide each kind of entry once per child; across batches a school's weekly attendance summary for the same
child was decided again every week. A `DecisionMemo` keeps each child's decisions with what they were decided
from, and hands them back only while

- the child's consent records and relationships are equal to those they were decided from (any change:
  a consent, a competence assessment, a team member joining or leaving, starts afresh), and
- the moment is before the child's *horizon*: the first instant after the decision at which the engine's
  answer could change with time alone (a record or relationship starting or ending, a record or an
  assessment taking effect, and the next UTC midnight, when a young person may reach the presumption age).

So a remembered decision is the one `decide` would give now (tests/unit/projections/test_decision_horizon.py
proves it against the engine over time). Only decisions for viewers without break-glass are remembered
(viewer classes and feed recipients); break-glass windows are the viewer's, not the child's.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from consent_engine import ConsentRecord, Relationship


def horizon(consents: Sequence[ConsentRecord], rels: Sequence[Relationship], now: datetime) -> datetime:
    """The first instant after `now` at which a decision over these inputs may change with time alone."""
    first = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=now.tzinfo)  # presumption by date
    for rel in rels:
        for moment in (rel.start, rel.end):
            if moment is not None and now < moment < first:
                first = moment
    for record in consents:
        for moment in (record.recorded_at, record.start, record.end):
            if moment is not None and now < moment < first:
                first = moment
        for assessment in record._assessments:
            if now < assessment.effective_at < first:
                first = assessment.effective_at
    return first


@dataclass
class _Child:
    consents: tuple[ConsentRecord, ...]
    rels: tuple[Relationship, ...]
    since: datetime
    until: datetime
    decisions: dict[Any, Any] = field(default_factory=dict)


class DecisionMemo:
    """Per child, the decisions made from its current inputs (keyed as the caller likes: a decision key, or a
    viewer and a decision key); the `limit` most recently used children are kept (a few kilobytes each: the
    bench's 4,000 children fit many times over, and a child seen less often is simply decided again). One per step
    and thread, with one policy and one set of rules: the caller's key must cover anything else a decision depends
    on."""

    def __init__(self, limit: int = 20_000) -> None:
        self.limit = limit
        self._children: OrderedDict[str, _Child] = OrderedDict()

    def for_child(
        self, child_id: str, consents: Sequence[ConsentRecord], rels: Sequence[Relationship], now: datetime
    ) -> dict[Any, Any]:
        """The child's remembered decisions if they still hold at `now` for these inputs, else a fresh dict
        (remembered from now on). The caller fills it with what it decides."""
        consents, rels = tuple(consents), tuple(rels)
        known = self._children.get(child_id)
        if known is not None and known.since <= now < known.until and known.consents == consents and known.rels == rels:
            self._children.move_to_end(child_id)
            return known.decisions
        known = self._children[child_id] = _Child(consents, rels, now, horizon(consents, rels, now))
        self._children.move_to_end(child_id)
        while len(self._children) > self.limit:
            self._children.popitem(last=False)
        return known.decisions

    def forget(self, child_ids: Sequence[str] | None = None) -> None:
        """Drop these children (None: every child), e.g. when their partition is revoked."""
        if child_ids is None:
            self._children.clear()
        else:
            for child_id in child_ids:
                self._children.pop(child_id, None)

    def __len__(self) -> int:
        return len(self._children)
