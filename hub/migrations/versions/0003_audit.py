"""information governance: BALP fields on audit_log, chain head, signed checkpoints, reviews, legal holds

Revision ID: 0003_audit
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_audit"
down_revision = "0001"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("policy_version", sa.String(64), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("legitimate_relationship", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("detail", sa.JSON(), nullable=True))
        batch.create_index("ix_audit_log_child_time", ["child_id", "recorded_at"])
        batch.create_index("ix_audit_log_user_time", ["user_id", "recorded_at"])
        batch.create_index("ix_audit_log_action", ["action"])
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
        sa.Column("anchor_seq", sa.BigInteger(), nullable=False),
        sa.Column("anchor_hash", sa.String(64), nullable=False),
    )
    # The head starts where the skeleton's chain already is, so records written before this revision still verify.
    bind = op.get_bind()
    last = bind.execute(sa.text("SELECT seq, record_hash FROM audit_log ORDER BY seq DESC LIMIT 1")).first()
    op.bulk_insert(
        sa.table(
            "audit_chain_head",
            sa.column("id"),
            sa.column("seq"),
            sa.column("record_hash"),
            sa.column("anchor_seq"),
            sa.column("anchor_hash"),
        ),
        [
            {
                "id": 1,
                "seq": last[0] if last else 0,
                "record_hash": last[1] if last else GENESIS,
                "anchor_seq": 0,
                "anchor_hash": GENESIS,
            }
        ],
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
    )
    op.create_table(
        "audit_reviews",
        sa.Column("audit_seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("reviewer", sa.String(120), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_table(
        "audit_legal_holds",
        sa.Column("child_id", sa.String(36), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(120), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "audit_staff_directory",
        sa.Column("user_id", sa.String(120), primary_key=True),
        sa.Column("organisation", sa.String(40), nullable=False),
        sa.Column("family_name", sa.String(100), nullable=False),
        sa.Column("postcode", sa.String(10), nullable=False),
    )


def downgrade() -> None:
    for name in (
        "audit_staff_directory",
        "audit_legal_holds",
        "audit_reviews",
        "audit_checkpoints",
        "audit_chain_head",
    ):
        op.drop_table(name)
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_action")
        batch.drop_index("ix_audit_log_user_time")
        batch.drop_index("ix_audit_log_child_time")
        for column in ("detail", "legitimate_relationship", "reason", "policy_version"):
            batch.drop_column(column)
