"""Tables of the information-governance side of the access log (the log itself is `audit_log` in tables.py).

audit_chain_head     one row: the chain head (seq, hash) and the anchor left by a purge; appends lock it first,
                     which serialises writers on SQLite and makes the head read fresh on both backends
audit_checkpoints    signed chain heads (JWS, ES256 with the hub's key), also exported as witnesses
audit_reviews        break-glass review decisions (the audit log itself is never updated)
audit_legal_holds    children whose audit records must survive any retention purge
audit_staff_directory  staff surname/postcode, used only by the privacy-alert rules
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, String, Table, Text

from hub.db.tables import audit_log, metadata

audit_chain_head = Table(
    "audit_chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("record_hash", String(64), nullable=False),
    Column("anchor_seq", BigInteger, nullable=False),
    Column("anchor_hash", String(64), nullable=False),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("seq", BigInteger, nullable=False),
    Column("record_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("jws", Text, nullable=False),
)

audit_reviews = Table(
    "audit_reviews",
    metadata,
    Column("audit_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("decision", String(20), nullable=False),
    Column("reviewer", String(120), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("note", Text, nullable=True),
)

audit_legal_holds = Table(
    "audit_legal_holds",
    metadata,
    Column("child_id", String(36), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("placed_by", String(120), nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
)

audit_staff_directory = Table(
    "audit_staff_directory",
    metadata,
    Column("user_id", String(120), primary_key=True),
    Column("organisation", String(40), nullable=False),
    Column("family_name", String(100), nullable=False),
    Column("postcode", String(10), nullable=False),
)

# Search paths of the IG API (declared here so tables.py stays the skeleton's; created by 0003_audit).
Index("ix_audit_log_child_time", audit_log.c.child_id, audit_log.c.recorded_at)
Index("ix_audit_log_user_time", audit_log.c.user_id, audit_log.c.recorded_at)
Index("ix_audit_log_action", audit_log.c.action)
