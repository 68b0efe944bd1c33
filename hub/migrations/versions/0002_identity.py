"""identity resolution: client registry, review queue, merges and decisions

Revision ID: 0002_identity
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_identity"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_records",
        sa.Column("record_key", sa.String(64), primary_key=True),
        sa.Column("child_id", sa.String(36), nullable=False),
        sa.Column("source_org", sa.String(40), nullable=False),
        sa.Column("identifiers", sa.JSON(), nullable=False),
        sa.Column("invalid_identifiers", sa.JSON(), nullable=False),
        sa.Column("given_name", sa.String(100), nullable=False),
        sa.Column("family_name", sa.String(100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("postcode", sa.String(10), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_identity_records_child", "identity_records", ["child_id"])
    op.create_table(
        "identity_blocks",
        sa.Column("block_key", sa.String(80), primary_key=True),
        sa.Column("record_key", sa.String(64), primary_key=True),
    )
    op.create_table(
        "identity_event_links",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("record_key", sa.String(64), nullable=False),
    )
    op.create_index("ix_identity_event_links_record", "identity_event_links", ["record_key"])
    op.create_table(
        "identity_reviews",
        sa.Column("review_id", sa.String(36), primary_key=True),
        sa.Column("pair_key", sa.String(80), nullable=False, unique=True),
        sa.Column("child_a", sa.String(36), nullable=False),
        sa.Column("child_b", sa.String(36), nullable=False),
        sa.Column("record_a", sa.String(64), nullable=True),
        sa.Column("record_b", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(120), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_identity_reviews_status", "identity_reviews", ["status", "created_at"])
    op.create_table(
        "identity_merges",
        sa.Column("merge_id", sa.String(36), primary_key=True),
        sa.Column("surviving_child_id", sa.String(36), nullable=False),
        sa.Column("retired_child_id", sa.String(36), nullable=False),
        sa.Column("record_keys", sa.JSON(), nullable=False),
        sa.Column("identifiers", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unmerged_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_identity_merges_retired_child_id", "identity_merges", ["retired_child_id"])
    op.create_table(
        "identity_decisions",
        sa.Column("decision_id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("review_id", sa.String(36), nullable=True),
        sa.Column("merge_id", sa.String(36), nullable=True),
        sa.Column("surviving_child_id", sa.String(36), nullable=True),
        sa.Column("retired_child_id", sa.String(36), nullable=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("decided_by", sa.String(120), nullable=False),
        sa.Column("organisation", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("identity_decisions")
    op.drop_index("ix_identity_merges_retired_child_id", "identity_merges")
    op.drop_table("identity_merges")
    op.drop_index("ix_identity_reviews_status", "identity_reviews")
    op.drop_table("identity_reviews")
    op.drop_index("ix_identity_event_links_record", "identity_event_links")
    op.drop_table("identity_event_links")
    op.drop_table("identity_blocks")
    op.drop_index("ix_identity_records_child", "identity_records")
    op.drop_table("identity_records")
