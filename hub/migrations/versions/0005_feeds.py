"""Outbound feeds, alerts, FHIR subscriptions and their deliveries (issue 10).

Revision ID: 0005_feeds
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_feeds"
down_revision = "0001"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "feed_disclosures",
        sa.Column("recipient", sa.String(80), primary_key=True),
        sa.Column("entry_id", sa.String(36), primary_key=True),
        sa.Column("child_id", sa.String(36), nullable=False),
        sa.Column("organisation", sa.String(40), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_feed_disclosures_child", "feed_disclosures", ["recipient", "child_id"])
    op.create_table(
        "outbound_outbox",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(64), nullable=False, unique=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.LargeBinary, nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_outbound_outbox_unsent", "outbound_outbox", ["sent_at", "seq"])
    op.create_table(
        "outbound_alerts",
        sa.Column("alert_id", sa.String(64), primary_key=True),
        sa.Column("rule", sa.String(80), nullable=False),
        sa.Column("organisation", sa.String(40), nullable=False),
        sa.Column("child_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("organisation", sa.String(40), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(120), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("filters", sa.JSON, nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("events_since_start", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_table(
        "subscription_deliveries",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("subscription_id", sa.String(36), nullable=False),
        sa.Column("event_number", sa.BigInteger, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_subscription_deliveries_due", "subscription_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_subscription_deliveries_sub", "subscription_deliveries", ["subscription_id", "event_number"])


def downgrade() -> None:
    for index, table in (
        ("ix_subscription_deliveries_sub", "subscription_deliveries"),
        ("ix_subscription_deliveries_due", "subscription_deliveries"),
        ("ix_outbound_outbox_unsent", "outbound_outbox"),
        ("ix_feed_disclosures_child", "feed_disclosures"),
    ):
        op.drop_index(index, table_name=table)
    for table in ("subscription_deliveries", "subscriptions", "outbound_alerts", "outbound_outbox", "feed_disclosures"):
        op.drop_table(table)
