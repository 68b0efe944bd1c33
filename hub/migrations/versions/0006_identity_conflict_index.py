"""identity: index reviews by the child already known, to find children split off as nhs-dob-conflict

Revision ID: 0006_identity_conflict_index
Revises: 0002_identity
"""

from __future__ import annotations

from alembic import op

revision = "0006_identity_conflict_index"
down_revision = "0002_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_identity_reviews_child_a", "identity_reviews", ["child_a", "reason"])


def downgrade() -> None:
    op.drop_index("ix_identity_reviews_child_a", table_name="identity_reviews")
