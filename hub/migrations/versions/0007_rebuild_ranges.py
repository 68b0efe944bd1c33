"""projections: a rebuild split into child-id ranges records each range's upper bound

Revision ID: 0007_rebuild_ranges
Revises: 0004_projections
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_rebuild_ranges"
down_revision = "0004_projections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rebuild_state") as batch:
        batch.add_column(sa.Column("until_child_id", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rebuild_state") as batch:
        batch.drop_column("until_child_id")
