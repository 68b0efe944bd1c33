"""Whether a viewer had a legitimate relationship with the child at the moment of an access.

Recorded on each read's audit record (`legitimate_relationship`), so IG officers can list accesses without one.
The match mirrors the consent engine's: same organisation, within the relationship's period, and the role,
user, team and child constraints that the relationship sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from consent_engine import Relationship, Viewer


def has_relationship(relationships: Sequence[Relationship], viewer: Viewer, child_id: str, now: datetime) -> bool:
    return any(
        rel.organisation == viewer.organisation
        and rel.start <= now
        and (rel.end is None or now < rel.end)
        and (rel.role is None or rel.role == viewer.role)
        and (rel.user_id is None or rel.user_id == viewer.user_id)
        and (rel.team is None or rel.team == viewer.team)
        and (rel.child_id is None or rel.child_id == child_id)
        for rel in relationships
    )


def relationship_of(story: Any, viewer: Viewer, now: datetime) -> bool | None:
    """For a read's Story (hub.read.story): None when there was no child to relate to."""
    context = getattr(story, "context", None)
    if story is None or context is None:
        return None
    return has_relationship(context.relationships, viewer, story.child_id, now)
