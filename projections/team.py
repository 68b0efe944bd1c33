"""The team around the child: who is involved, since when, until when. Pure, order-insensitive fold.

This is the legitimate-relationship source for the consent engine, so `until` matters: once an
organisation's involvement ends, its practitioners stop seeing shared entries. Each member keeps the latest
(time, value) evidence per field, so events arriving late or twice give the same result as the log order.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

from hub.disclosure.rules import Rules, first_field, payload_of

MEMBER_NAMESPACE = uuid.UUID("0b8d6f3e-2c41-4f7a-9e15-6a3c2d8b7f40")
_FIELDS = (("worker", "worker_fields"), ("contact", "contact_fields"), ("role", "role_fields"))


@lru_cache(maxsize=65536)  # pure, and asked for on every event of the child
def member_id(child_id: str, organisation: str) -> str:
    return str(uuid.uuid5(MEMBER_NAMESPACE, f"{child_id}|{organisation}"))


def _later(evidence: dict[str, Any], key: str, at: str, value: Any) -> bool:
    """Keep the value with the latest time (ties broken by value), so any arrival order agrees."""
    current = evidence.get(key)
    candidate = [at, value]
    if current is None or candidate > current:
        evidence[key] = candidate
        return True
    return False


def _plan(rules: Rules) -> tuple[Any, ...]:
    """The team rules this fold reads, looked up once per Rules object rather than on every event."""
    return rules.plan("team", _build_plan)


def _build_plan(rules: Rules) -> tuple[Any, ...]:
    fields = tuple((column, rules.fields("team", names)) for column, names in _FIELDS)
    plan = (rules.kinds("team", "leave"), rules.value("team", "join_by_default"), rules.kinds("team", "no_join"))
    return (*plan, fields)


def fold_team(members: dict[str, dict[str, Any]], event: dict[str, Any], rules: Rules) -> set[str]:
    """Apply one event to the child's members (keyed by member id); returns the ids changed."""
    leave, join_by_default, no_join, fields = _plan(rules)
    kind = event["kind"]
    leaving = kind in leave
    joining = join_by_default and kind not in no_join and not leaving
    if not (leaving or joining):
        return set()
    org = event["source"]["organisation"]
    at = event["occurred_at"]
    stamp = at.isoformat()
    key = member_id(event["child_id"], org)
    member = members.get(key)
    if member is None:
        member = members[key] = {
            "member_id": key,
            "child_id": event["child_id"],
            "organisation": org,
            "organisation_type": event["source"].get("organisation_type"),
            "role": None,
            "worker": None,
            "contact": None,
            "since": at,
            "until": None,
            "evidence": {},
        }
        changed = True
    else:
        changed = False
    evidence = member["evidence"]
    if at < member["since"]:
        member["since"], changed = at, True
    changed |= _later(evidence, "left" if leaving else "joined", stamp, event["event_id"])
    payload = payload_of(event)
    for column, names in fields:
        value = first_field(payload, names)
        if value and _later(evidence, column, stamp, str(value)):
            member[column], changed = str(value), True
    left, joined = evidence.get("left"), evidence.get("joined")
    until = left[0] if left and (joined is None or left >= joined) else None
    if until != (member["until"].isoformat() if member["until"] else None):
        member["until"] = datetime.fromisoformat(until) if until else None
        changed = True
    return {key} if changed else set()
