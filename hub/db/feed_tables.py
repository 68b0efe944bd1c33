"""Outbound sharing: what each recipient was sent, the outbox to Kafka, alerts, subscriptions and deliveries.

`feed_disclosures` is the memory of every recipient (an organisation's feed topic, or one FHIR subscription):
the level each entry was last sent at. It is what makes retractions possible (we know what to take back) and
redelivery harmless (an entry already sent at the same level is not sent again).
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, LargeBinary, String, Table, Text

from hub.db.tables import metadata

feed_disclosures = Table(
    "feed_disclosures",
    metadata,
    Column("recipient", String(80), primary_key=True),  # "feed:<org>" or "subscription:<id>"
    Column("entry_id", String(36), primary_key=True),
    Column("child_id", String(36), nullable=False),
    Column("organisation", String(40), nullable=False),
    Column("level", String(20), nullable=False),  # full | summary | flag | retracted
    Column("record_id", String(64), nullable=False),
    Column("policy_version", String(64), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_feed_disclosures_child", "recipient", "child_id"),
)

# Records to publish on onestory.out.<org>.v1, written in the transaction that decided them.
outbound_outbox = Table(
    "outbound_outbox",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("record_id", String(64), nullable=False, unique=True),
    Column("topic", String(200), nullable=False),
    Column("key", LargeBinary, nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Index("ix_outbound_outbox_unsent", "sent_at", "seq"),
)

# One row per alert raised, so that a redelivered event never raises the same alert twice.
outbound_alerts = Table(
    "outbound_alerts",
    metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("rule", String(80), nullable=False),
    Column("organisation", String(40), nullable=False),
    Column("child_id", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("organisation", String(40), nullable=False),
    Column("role", String(40), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("user_id", String(120), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("filters", JSON, nullable=False),
    Column("endpoint", Text, nullable=False),
    Column("secret", String(128), nullable=False),
    Column("status", String(20), nullable=False),  # active | off
    Column("events_since_start", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=True),
)

subscription_deliveries = Table(
    "subscription_deliveries",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("subscription_id", String(36), nullable=False),
    Column("event_number", BigInteger, nullable=False),
    Column("body", JSON, nullable=False),  # the notification Bundle
    Column("status", String(20), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text, nullable=True),  # status code or error type only: never a response body
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Index("ix_subscription_deliveries_due", "status", "next_attempt_at"),
    Index("ix_subscription_deliveries_sub", "subscription_id", "event_number"),
)
