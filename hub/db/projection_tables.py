"""Per-child projections beyond the timeline: consent state, the team around the child, episodes, "now".

All are disposable: `onestory rebuild` derives them again from the event store.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, Index, String, Table, Text

from hub.db.tables import metadata

consent_records = Table(
    "consent_records",
    metadata,
    Column("consent_id", String(120), primary_key=True),
    Column("child_id", String(36), nullable=False, index=True),
    Column("event_id", String(36), nullable=False),
    Column("status", String(20), nullable=False),
    Column("given_by", String(40), nullable=False),
    Column("competent", Boolean, nullable=True),
    Column("organisations", JSON, nullable=False),
    Column("organisation_types", JSON, nullable=False),
    Column("categories", JSON, nullable=False),
    Column("purposes", JSON, nullable=False),
    Column("period_start", DateTime(timezone=True), nullable=True),
    Column("period_end", DateTime(timezone=True), nullable=True),
    Column("withdraws", String(120), nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("source_org", String(40), nullable=False),
)

# Competence assessments (competence.assessed events), per child: with the child's date of birth (from the
# identity registry) they decide whether a young person's own consent, refusal or withdrawal counts.
competence_assessments = Table(
    "competence_assessments",
    metadata,
    Column("row_id", String(200), primary_key=True),  # "<source organisation>|<assessment id>"
    Column("child_id", String(36), nullable=False, index=True),
    Column("event_id", String(36), nullable=False),
    Column("assessment_id", String(120), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("decision", String(120), nullable=False),
    Column("categories", JSON, nullable=False),
    Column("assessed_by", String(200), nullable=False),
    Column("assessed_at", DateTime(timezone=True), nullable=False),
    Column("framework", String(20), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("source_org", String(40), nullable=False),
)

# A consent event the hub has accepted but not yet applied: reads hide the child's shared entries meanwhile.
consent_pending = Table(
    "consent_pending",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("child_id", String(36), nullable=False, index=True),
    Column("queued_at", DateTime(timezone=True), nullable=False),
)

team_members = Table(
    "team_members",
    metadata,
    Column("member_id", String(36), primary_key=True),
    Column("child_id", String(36), nullable=False, index=True),
    Column("organisation", String(40), nullable=False),
    Column("organisation_type", String(40), nullable=True),
    Column("role", String(60), nullable=True),
    Column("worker", String(120), nullable=True),
    Column("contact", Text, nullable=True),
    Column("since", DateTime(timezone=True), nullable=False),
    Column("until", DateTime(timezone=True), nullable=True),
    Column("evidence", JSON, nullable=False),  # latest (time, value) per field: keeps the fold order-insensitive
)

episodes = Table(
    "episodes",
    metadata,
    Column("episode_id", String(160), primary_key=True),
    Column("child_id", String(36), nullable=False, index=True),
    Column("referral_ref", String(120), nullable=False),
    Column("referred_by", String(40), nullable=True),
    Column("referred_to", String(40), nullable=True),
    Column("status", String(30), nullable=False),
    Column("outcome", String(20), nullable=True),
    Column("redirected_to", String(120), nullable=True),
    Column("referred_at", DateTime(timezone=True), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("first_contact_at", DateTime(timezone=True), nullable=True),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("ending_criteria", Text, nullable=True),
    Column("tellers", JSON, nullable=False),
)

child_now = Table(
    "child_now",
    metadata,
    Column("child_id", String(36), primary_key=True),
    Column("state", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# A rebuild in progress: resumable after interruption (children are rebuilt in child id order).
rebuild_state = Table(
    "rebuild_state",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("projections", JSON, nullable=False),
    Column("snapshot_seq", BigInteger, nullable=False),
    Column("last_child_id", String(36), nullable=False),
    # a range of a parallel rebuild ("range:<k>") ends here, inclusive; None for the whole rebuild's row
    Column("until_child_id", String(36), nullable=True),
    Column("children_done", BigInteger, nullable=False),
    Column("events_done", BigInteger, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
)

Index("ix_team_child_org", team_members.c.child_id, team_members.c.organisation)
