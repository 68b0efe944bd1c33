"""The team around the child: who is involved, since when, until when. Pure fold over events.

This is the legitimate-relationship source for the consent engine, so a member's `until` matters: once an
organisation's involvement ends, its practitioners stop seeing new shared entries.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from projections.rules import Rules, first_field, payload_of

MEMBER_NAMESPACE = uuid.UUID("0b8d6f3e-2c41-4f7a-9e15-6a3c2d8b7f40")


def member_id(child_id: str, organisation: str) -> str:
    return str(uuid.uuid5(MEMBER_NAMESPACE, f"{child_id}|{organisation}"))


def fold_team(members: dict[str, dict[str, Any]], event: dict[str, Any], rules: Rules) -> set[str]:
    """Apply one event to the child's members (keyed by member id); returns the ids changed."""
    kind = event["kind"]
    org = event["source"]["organisation"]
    at: datetime = event["occurred_at"]
    payload = payload_of(event)
    key = member_id(event["child_id"], org)
    member = members.get(key)
    if kind in rules.kinds("team", "leave"):
        if member is None or member["since"] > at:
            return set()
        if member["until"] is None or member["until"] < at:
            member["until"] = at
            member["last_event_id"] = event["event_id"]
            return {key}
        return set()
    if not rules.value("team", "join_by_default") or kind in rules.kinds("team", "no_join"):
        return set()
    worker = first_field(payload, rules.fields("team", "worker_fields"))
    contact = first_field(payload, rules.fields("team", "contact_fields"))
    role = first_field(payload, rules.fields("team", "role_fields"))
    if member is None:
        members[key] = {
            "member_id": key, "child_id": event["child_id"], "organisation": org,
            "organisation_type": event["source"].get("organisation_type"), "role": role, "worker": worker,
            "contact": contact, "since": at, "until": None, "last_event_id": event["event_id"],
        }
        return {key}
    changed = False
    if at < member["since"]:
        member["since"], changed = at, True
    if member["until"] is not None and at > member["until"]:
        member["until"], changed = None, True  # involved again after an ending
    for field, value in (("worker", worker), ("contact", contact), ("role", role)):
        if value and member.get(field) != value and at >= member["since"]:
            member[field], changed = value, True
    if changed:
        member["last_event_id"] = event["event_id"]
    return {key} if changed else set()
