"""break-glass declarations: a practitioner's time-limited emergency access to one child

Revision ID: 0010_break_glass
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_break_glass"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "break_glass_declarations",
        sa.Column("declaration_id", sa.String(36), primary_key=True),
        sa.Column("child_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(120), nullable=False),
        sa.Column("organisation", sa.String(40), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(60), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("audit_hash", sa.String(64), nullable=True),
    )
    op.create_index("ix_break_glass_viewer_child", "break_glass_declarations", ["user_id", "child_id"])


def downgrade() -> None:
    op.drop_index("ix_break_glass_viewer_child", table_name="break_glass_declarations")
    op.drop_table("break_glass_declarations")
