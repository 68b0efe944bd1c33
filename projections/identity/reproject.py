"""Re-project children after a merge or unmerge: clear their projection rows and fold their events again.

The event store is the truth (DESIGN.md principle 1): once a merge has moved event_store rows to the right
child, every per-child projection (timeline, team, episodes, now, consent) is derived again from it in the
same transaction, so a reader sees both children either wholly before or wholly after the switch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, select

from consent_engine import Policy
from hub.db.tables import event_store
from hub.disclosure.rules import Rules, bundled_rules
from hub.events.codec import EventCodec
from projections.child_projector import apply_events
from projections.table_set import LIVE


@dataclass(frozen=True)
class Reprojector:
    codec: EventCodec
    policy: Policy
    rules: Rules

    @classmethod
    def with_bundled_rules(cls, codec: EventCodec, policy: Policy) -> Reprojector:
        return cls(codec, policy, bundled_rules())

    def __call__(self, conn: Connection, child_ids: Sequence[str]) -> None:
        ids = sorted(set(child_ids))
        for table in LIVE.by_name().values():
            conn.execute(delete(table).where(table.c.child_id.in_(ids)))
        rows = conn.execute(
            select(event_store.c.child_id, event_store.c.body)
            .where(event_store.c.child_id.in_(ids))
            .order_by(event_store.c.seq)
        )
        events = []
        for row in rows:
            event = self.codec.decode(row.body)
            event["child_id"] = row.child_id  # the body keeps the id it was first resolved to
            events.append(event)
        if events:
            apply_events(conn, self.policy, self.rules, events, datetime.now(UTC), LIVE, pending_marker=False)
