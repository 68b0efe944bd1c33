"""Per-child projections: consent state, pending consent, team, episodes, now; per-entry viewer decisions.

Revision ID: 0004_projections
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_projections"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_records",
        sa.Column("consent_id", sa.String(120), primary_key=True),
        sa.Column("child_id", sa.String(36), nullable=False, index=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("given_by", sa.String(40), nullable=False),
        sa.Column("competent", sa.Boolean, nullable=True),
        sa.Column("organisations", sa.JSON, nullable=False),
        sa.Column("organisation_types", sa.JSON, nullable=False),
        sa.Column("categories", sa.JSON, nullable=False),
        sa.Column("purposes", sa.JSON, nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdraws", sa.String(120), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_org", sa.String(40), nullable=False),
    )
    op.create_table(
        "consent_pending",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("child_id", sa.String(36), nullable=False, index=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "team_members",
        sa.Column("member_id", sa.String(36), primary_key=True),
        sa.Column("child_id", sa.String(36), nullable=False, index=True),
        sa.Column("organisation", sa.String(40), nullable=False),
        sa.Column("organisation_type", sa.String(40), nullable=True),
        sa.Column("role", sa.String(60), nullable=True),
        sa.Column("worker", sa.String(120), nullable=True),
        sa.Column("contact", sa.Text, nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evidence", sa.JSON, nullable=False),
    )
    op.create_index("ix_team_child_org", "team_members", ["child_id", "organisation"])
    op.create_table(
        "episodes",
        sa.Column("episode_id", sa.String(160), primary_key=True),
        sa.Column("child_id", sa.String(36), nullable=False, index=True),
        sa.Column("referral_ref", sa.String(120), nullable=False),
        sa.Column("referred_by", sa.String(40), nullable=True),
        sa.Column("referred_to", sa.String(40), nullable=True),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("redirected_to", sa.String(120), nullable=True),
        sa.Column("referred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ending_criteria", sa.Text, nullable=True),
        sa.Column("tellers", sa.JSON, nullable=False),
    )
    op.create_table(
        "child_now",
        sa.Column("child_id", sa.String(36), primary_key=True),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "rebuild_state",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("projections", sa.JSON, nullable=False),
        sa.Column("snapshot_seq", sa.BigInteger, nullable=False),
        sa.Column("last_child_id", sa.String(36), nullable=False),
        sa.Column("children_done", sa.BigInteger, nullable=False),
        sa.Column("events_done", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("timeline_entries") as batch:
        batch.add_column(sa.Column("decisions", sa.JSON, nullable=True))
        batch.add_column(sa.Column("policy_version", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("timeline_entries") as batch:
        batch.drop_column("policy_version")
        batch.drop_column("decisions")
    for table in ("rebuild_state", "child_now", "episodes", "team_members", "consent_pending", "consent_records"):
        op.drop_table(table)
