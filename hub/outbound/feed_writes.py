"""What the outbound feeds stage writes for one batch, collected in decision order and written in bulk.

The per-op path wrote each record as it was decided: an update then an insert per holding, an insert per
outbox record, three statements per notification and a chain append per audit record. Collecting them and
writing each kind in one executemany gives the same rows in the same order (outbox and audit sequence
numbers, subscription event numbers) at a few statements per batch. `flush` must run before anything else
writes to the same tables in the transaction (alerts do): it keeps the order the per-op path had.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from hub.audit import log as audit
from hub.db.feed_tables import feed_disclosures, outbound_outbox, subscription_deliveries, subscriptions
from hub.db.upsert import insert_ignore_values, upsert_values
from hub.outbound.dispatch import OUTBOX_COLUMNS, delivery_row, outbox_values
from hub.outbound.feed_codec import FeedCodec
from hub.outbound.feed_plan import RETRACTED, Op
from hub.outbound.fhir_subscription import Notice

HOLDING_COLUMNS = (
    "recipient",
    "entry_id",
    "child_id",
    "organisation",
    "level",
    "record_id",
    "policy_version",
    "updated_at",
)


@dataclass
class FeedWrites:
    codec: FeedCodec
    now: datetime
    holdings: list[tuple[Any, ...]] = field(default_factory=list)  # values of HOLDING_COLUMNS
    outbox: list[tuple[Any, ...]] = field(default_factory=list)  # values of OUTBOX_COLUMNS
    notices: list[tuple[dict[str, Any], Notice]] = field(default_factory=list)
    audits: list[audit.AuditRecord] = field(default_factory=list)
    # The batch's JSON encodings of stored JSON texts (`hub.outbound.feed_inputs.content_of`).
    fragments: dict[tuple[str, str], str] = field(default_factory=dict)

    def remember(self, recipient: str, organisation: str, child_id: str, ops: list[Op], policy_version: str) -> None:
        """What the recipient now holds of each entry it was sent (a retraction is held as retracted)."""
        now = self.now
        self.holdings += [
            (
                recipient,
                op.entry_id,
                child_id,
                organisation,
                op.level if op.op == "disclose" else RETRACTED,
                op.record_id,
                policy_version,
                now,
            )
            for op in ops
        ]

    def feed(self, record: dict[str, Any]) -> None:
        self.outbox.append(outbox_values(self.codec, record, self.now))

    def notify(self, sub: dict[str, Any], notice: Notice) -> None:
        self.notices.append((sub, notice))

    def audit(self, record: audit.AuditRecord) -> None:
        self.audits.append(record)

    def flush(self, conn: Connection) -> None:
        upsert_values(conn, feed_disclosures, HOLDING_COLUMNS, self.holdings)
        insert_ignore_values(conn, outbound_outbox, OUTBOX_COLUMNS, self.outbox)
        self._deliveries(conn)
        audit.append_many(conn, self.audits, self.now)
        self.holdings, self.outbox, self.notices, self.audits = [], [], [], []

    def _deliveries(self, conn: Connection) -> None:
        """Number each subscription's notifications on from its counter, moved once per subscription.

        The counter is advanced before it is read, as `dispatch.queue_notice` does, so concurrent writers on
        PostgreSQL queue on the row lock instead of handing out the same numbers.
        """
        if not self.notices:
            return
        counts: dict[str, int] = {}
        for sub, _ in self.notices:
            counts[sub["id"]] = counts.get(sub["id"], 0) + 1
        following: dict[str, int] = {}
        for sub_id, count in counts.items():
            conn.execute(
                update(subscriptions)
                .where(subscriptions.c.id == sub_id)
                .values(events_since_start=subscriptions.c.events_since_start + count)
            )
            last = conn.execute(
                select(subscriptions.c.events_since_start).where(subscriptions.c.id == sub_id)
            ).scalar_one()
            following[sub_id] = int(last) - count
        rows = []
        for sub, notice in self.notices:
            following[sub["id"]] += 1
            rows.append(delivery_row(sub, following[sub["id"]], notice, self.now))
        conn.execute(subscription_deliveries.insert(), rows)
