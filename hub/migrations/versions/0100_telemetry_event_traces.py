"""Trace context of each projected event, so a practitioner's read can link to the event's ingest trace (issue 9).

Revision ID: 0100_telemetry_event_traces
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0100_telemetry_event_traces"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_traces",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("traceparent", sa.String(55), nullable=False),
        sa.Column("projected_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_event_traces_projected_at", "event_traces", ["projected_at"])


def downgrade() -> None:
    op.drop_index("ix_event_traces_projected_at", table_name="event_traces")
    op.drop_table("event_traces")
