"""Table definitions shared by projections, the API and the audit log (SQLite and PostgreSQL).

Alembic migrations in hub/migrations are the source of truth for the deployed schema; a test checks that
these definitions and the migrated database agree.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# (topic id, partition) -> last applied offset, per consumer: written in the same transaction as the rows.
tracking = Table(
    "tracking",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("topic_id", String(64), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("topic", String(200), nullable=False),
    Column("last_offset", BigInteger, nullable=False),
)

children = Table(
    "children",
    metadata,
    Column("child_id", String(36), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

child_identifiers = Table(
    "child_identifiers",
    metadata,
    Column("system", String(200), primary_key=True),
    Column("value", String(100), primary_key=True),
    Column("child_id", String(36), nullable=False, index=True),
    Column("linked_at", DateTime(timezone=True), nullable=False),
)

# The durable archive of the log: every canonical event exactly once, in arrival order per child.
event_store = Table(
    "event_store",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("child_id", String(36), nullable=False),
    Column("kind", String(80), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("source_org", String(40), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Index("ix_event_store_child_seq", "child_id", "seq"),
)

timeline_entries = Table(
    "timeline_entries",
    metadata,
    Column("entry_id", String(36), primary_key=True),
    Column("child_id", String(36), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("kind", String(80), nullable=False),
    Column("category", String(60), nullable=False),
    Column("source_system", String(120), nullable=False),
    Column("source_org", String(40), nullable=False),
    Column("summary", Text, nullable=False),
    Column("sensitivity_labels", JSON, nullable=False),
    Column("sharing_basis", JSON, nullable=False),
    Column("correlation_ids", JSON, nullable=False),
    Column("detail", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("decisions", JSON, nullable=True),  # viewer class "org|role|purpose" -> level, for the team
    Column("policy_version", String(64), nullable=True),
    Index("ix_timeline_child_time", "child_id", "occurred_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("action", String(40), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("user_id", String(120), nullable=False),
    Column("organisation", String(40), nullable=False),
    Column("role", String(40), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("child_id", String(36), nullable=True),
    Column("query", Text, nullable=True),
    Column("entries", JSON, nullable=False),
    Column("client_address", String(64), nullable=True),
    Column("policy_version", String(64), nullable=True),  # 0003_audit: BALP fields, break-glass, relationship
    Column("reason", Text, nullable=True),
    Column("legitimate_relationship", Boolean, nullable=True),
    Column("detail", JSON, nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("record_hash", String(64), nullable=False, unique=True),
)

deadletters = Table(
    "deadletters",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("connector", String(40), nullable=False),
    Column("phase", String(20), nullable=False),
    Column("reason", Text, nullable=False),
    Column("content_type", String(80), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("status", String(20), nullable=False),
    Column("replayed_at", DateTime(timezone=True), nullable=True),
    Column("replay_result", Text, nullable=True),
)

# Accepted intake, committed before the sender is answered and relayed to Kafka afterwards (hub.kafka.journal).
intake_journal = Table(
    "intake_journal",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("entry_id", String(36), nullable=False, unique=True),
    Column("event_id", String(36), nullable=True),
    Column("topic", String(200), nullable=False),
    Column("key", LargeBinary, nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=False),
    Column("relayed_at", DateTime(timezone=True), nullable=True),
    Index("ix_intake_journal_relayed_at", "relayed_at"),
)
