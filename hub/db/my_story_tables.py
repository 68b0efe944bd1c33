"""Tables of "My story" sign-in: one-time access codes a practitioner issues, and the short sessions they open.

my_story_codes     a code's public id, the hash of its secret, whose story it opens and for whom (the young
                   person or a person with parental responsibility), who issued it, when it expires, wrong tries
                   and when it was used or locked. The secret itself is never stored.
my_story_sessions  a signed-in browser: the hash of its cookie, the code it came from, its CSRF token and expiry.

Auth, not projections: nothing here is rebuilt from events (created by 0011_my_story).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, String, Table

from hub.db.tables import metadata

my_story_codes = Table(
    "my_story_codes",
    metadata,
    Column("code_id", String(16), primary_key=True),
    Column("secret_hash", String(64), nullable=False),
    Column("child_id", String(36), nullable=False, index=True),
    Column("holder", String(40), nullable=False),  # young-person | parental-responsibility
    Column("issued_by", String(120), nullable=False),
    Column("issued_org", String(40), nullable=False),
    Column("issued_role", String(60), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("failures", Integer, nullable=False, default=0),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("locked_at", DateTime(timezone=True), nullable=True),
)

my_story_sessions = Table(
    "my_story_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("code_id", String(16), nullable=False),
    Column("child_id", String(36), nullable=False),
    Column("holder", String(40), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
)
