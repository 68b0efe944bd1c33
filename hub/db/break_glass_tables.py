"""Break-glass declarations: a practitioner's emergency access to one child, limited in time by the policy.

break_glass_declarations   who declared it (user, organisation, role, purpose), for which child, why (a reason
                           code of the policy and free text), from when until when, ended early if ended, and the
                           hash of the access-log record written in the same transaction (the IG review item)
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, String, Table, Text

from hub.db.tables import metadata

break_glass_declarations = Table(
    "break_glass_declarations",
    metadata,
    Column("declaration_id", String(36), primary_key=True),
    Column("child_id", String(36), nullable=False),
    Column("user_id", String(120), nullable=False),
    Column("organisation", String(40), nullable=False),
    Column("role", String(40), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("reason", String(60), nullable=False),
    Column("justification", Text, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("audit_hash", String(64), nullable=True),
    Index("ix_break_glass_viewer_child", "user_id", "child_id"),
)
