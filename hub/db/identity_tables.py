"""Tables of the client registry (identity resolution), on the shared metadata so Alembic sees them.

identity_records     one row per source record (a source's view of a person), with normalised demographics
identity_blocks      blocking keys → records, so candidate search is an indexed lookup
identity_event_links which source record each event came through (what makes an exact unmerge possible)
identity_reviews     pairs of children a steward must decide on (one row per pair, ever)
identity_merges      merge records: who was folded into whom, and which records/identifiers moved
identity_decisions   every link/unlink decision as an event: who, why, from which source
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, DateTime, Float, Index, String, Table, Text

from hub.db.tables import metadata

identity_records = Table(
    "identity_records",
    metadata,
    Column("record_key", String(64), primary_key=True),
    Column("child_id", String(36), nullable=False),
    Column("source_org", String(40), nullable=False),
    Column("identifiers", JSON, nullable=False),  # [[system, value], ...] validated only
    Column("invalid_identifiers", JSON, nullable=False),  # [[system, reason], ...] flagged, never linked on
    Column("given_name", String(100), nullable=False),
    Column("family_name", String(100), nullable=False),
    Column("birth_date", Date, nullable=True),
    Column("sex", String(1), nullable=False),
    Column("postcode", String(10), nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Index("ix_identity_records_child", "child_id"),
)

identity_blocks = Table(
    "identity_blocks",
    metadata,
    Column("block_key", String(80), primary_key=True),
    Column("record_key", String(64), primary_key=True),
)

identity_event_links = Table(
    "identity_event_links",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("record_key", String(64), nullable=False),
    Index("ix_identity_event_links_record", "record_key"),
)

identity_reviews = Table(
    "identity_reviews",
    metadata,
    Column("review_id", String(36), primary_key=True),
    Column("pair_key", String(80), nullable=False, unique=True),
    Column("child_a", String(36), nullable=False),  # the child already known
    Column("child_b", String(36), nullable=False),  # the child the new record created
    Column("record_a", String(64), nullable=True),
    Column("record_b", String(64), nullable=True),
    Column("reason", String(40), nullable=False),
    Column("score", Float, nullable=True),
    Column("detail", JSON, nullable=False),  # agreement levels per field, config version: no names or dates
    Column("status", String(20), nullable=False),  # open | linked | not-same
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("decided_by", String(120), nullable=True),
    Column("decision_reason", Text, nullable=True),
    Index("ix_identity_reviews_status", "status", "created_at"),
    Index("ix_identity_reviews_child_a", "child_a", "reason"),  # children split off one NHS number's child
)

identity_merges = Table(
    "identity_merges",
    metadata,
    Column("merge_id", String(36), primary_key=True),
    Column("surviving_child_id", String(36), nullable=False),
    Column("retired_child_id", String(36), nullable=False, index=True),
    Column("record_keys", JSON, nullable=False),
    Column("identifiers", JSON, nullable=False),
    Column("status", String(20), nullable=False),  # active | undone
    Column("source", String(40), nullable=False),  # steward | adt-a40 | registry
    Column("reason", Text, nullable=True),
    Column("merged_at", DateTime(timezone=True), nullable=False),
    Column("unmerged_at", DateTime(timezone=True), nullable=True),
)

identity_decisions = Table(
    "identity_decisions",
    metadata,
    Column("decision_id", String(36), primary_key=True),
    Column("kind", String(20), nullable=False),  # link | not-same | unmerge
    Column("review_id", String(36), nullable=True),
    Column("merge_id", String(36), nullable=True),
    Column("surviving_child_id", String(36), nullable=True),
    Column("retired_child_id", String(36), nullable=True),
    Column("source", String(40), nullable=False),
    Column("decided_by", String(120), nullable=False),
    Column("organisation", String(40), nullable=False),
    Column("reason", Text, nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)
