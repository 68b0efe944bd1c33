"""my story: one-time access codes for young people and parents, and their short sessions

Revision ID: 0011_my_story
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_my_story"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "my_story_codes",
        sa.Column("code_id", sa.String(16), primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("child_id", sa.String(36), nullable=False),
        sa.Column("holder", sa.String(40), nullable=False),
        sa.Column("issued_by", sa.String(120), nullable=False),
        sa.Column("issued_org", sa.String(40), nullable=False),
        sa.Column("issued_role", sa.String(60), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_my_story_codes_child_id", "my_story_codes", ["child_id"])
    op.create_table(
        "my_story_sessions",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("code_id", sa.String(16), nullable=False),
        sa.Column("child_id", sa.String(36), nullable=False),
        sa.Column("holder", sa.String(40), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("my_story_sessions")
    op.drop_index("ix_my_story_codes_child_id", table_name="my_story_codes")
    op.drop_table("my_story_codes")
