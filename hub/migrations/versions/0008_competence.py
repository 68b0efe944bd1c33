"""projections: competence assessments per child (competence.assessed events), read with the child's date of birth

Revision ID: 0008_competence
Revises: 0007_rebuild_ranges
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_competence"
down_revision = "0007_rebuild_ranges"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "competence_assessments",
        sa.Column("row_id", sa.String(200), primary_key=True),
        sa.Column("child_id", sa.String(36), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("assessment_id", sa.String(120), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("decision", sa.String(120), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("assessed_by", sa.String(200), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("framework", sa.String(20), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_org", sa.String(40), nullable=False),
    )
    op.create_index("ix_competence_assessments_child_id", "competence_assessments", ["child_id"])


def downgrade() -> None:
    op.drop_index("ix_competence_assessments_child_id", table_name="competence_assessments")
    op.drop_table("competence_assessments")
