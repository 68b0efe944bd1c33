"""Episodes: referral → received → accepted / declined / redirected → first contact → agreed ending.

Linked across agencies by the referral correlation id, so the same referral told by two agencies is one
episode. Status is derived from which milestones are known (not from arrival order), so late events are safe.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.disclosure.rules import Rules, first_field, payload_of

_MILESTONE_FIELDS = ("referred_at", "received_at", "decided_at", "first_contact_at", "ended_at")


def episode_status(ep: dict[str, Any]) -> str:
    if ep["ended_at"]:
        return "ended"
    if ep.get("outcome") in ("declined", "redirected"):
        return str(ep["outcome"])
    if ep["first_contact_at"]:
        return "in-contact"
    if ep.get("outcome") == "accepted":
        return "accepted"
    if ep["received_at"]:
        return "received"
    return "referred"


def _earliest(ep: dict[str, Any], field: str, at: datetime) -> bool:
    if ep[field] is None or at < ep[field]:
        ep[field] = at
        return True
    return False


def _plan(rules: Rules) -> tuple[str, frozenset[str]]:
    """The correlation key and every kind this fold reads, worked out once per Rules object."""
    return rules.plan("episodes", _build_plan)


def _build_plan(rules: Rules) -> tuple[str, frozenset[str]]:
    names = ("made", "received", "accepted", "declined", "redirected", "first_contact", "ended")
    relevant = frozenset().union(*(rules.kinds("episodes", n) for n in names))
    return (rules.value("episodes", "correlation_key"), relevant)


def touches_episodes(event: dict[str, Any], rules: Rules) -> bool:
    """Whether `fold_episode` reads or changes the child's episodes for this event (its own gate, below).

    The projector loads a child's stored episodes only when some event of the batch touches them.
    """
    correlation_key, relevant = _plan(rules)
    return bool(event["correlation_ids"].get(correlation_key)) and event["kind"] in relevant


def fold_episode(episodes: dict[str, dict[str, Any]], event: dict[str, Any], rules: Rules) -> set[str]:
    correlation_key, relevant = _plan(rules)
    ref = event["correlation_ids"].get(correlation_key)
    if not ref:
        return set()
    kind, at, org = event["kind"], event["occurred_at"], event["source"]["organisation"]
    payload = payload_of(event)
    if kind not in relevant:  # with `not ref` above: exactly `not touches_episodes(event, rules)`
        return set()
    k = lambda name: rules.kinds("episodes", name)  # noqa: E731 - local shorthand
    key = f"{event['child_id']}|{ref}"
    ep = episodes.get(key)
    if ep is None:
        ep = episodes[key] = {
            "episode_id": key,
            "child_id": event["child_id"],
            "referral_ref": ref,
            "referred_by": None,
            "referred_to": None,
            "status": "referred",
            "redirected_to": None,
            "ending_criteria": None,
            "tellers": [],
            "outcome": None,
            **{f: None for f in _MILESTONE_FIELDS},
        }
    changed = org not in ep["tellers"]
    if changed:
        ep["tellers"] = sorted({*ep["tellers"], org})
    if kind in k("made"):
        changed |= _earliest(ep, "referred_at", at)
        ep["referred_by"] = ep["referred_by"] or org
        ep["referred_to"] = ep["referred_to"] or first_field(payload, rules.fields("episodes", "referred_to_fields"))
    elif kind in k("received"):
        changed |= _earliest(ep, "received_at", at)
        ep["referred_to"] = ep["referred_to"] or org
    elif kind in k("accepted") | k("declined") | k("redirected"):
        outcome = "accepted" if kind in k("accepted") else "declined" if kind in k("declined") else "redirected"
        if ep["decided_at"] is None or at >= ep["decided_at"]:
            ep["decided_at"], ep["outcome"], changed = at, outcome, True
            ep["referred_to"] = ep["referred_to"] or org
            redirected = first_field(payload, rules.fields("episodes", "redirected_to_fields"))
            if redirected:
                ep["redirected_to"] = str(redirected)
    elif kind in k("first_contact"):
        changed |= _earliest(ep, "first_contact_at", at)
    elif kind in k("ended"):
        changed |= _earliest(ep, "ended_at", at)
        ending = first_field(payload, rules.fields("episodes", "ending_fields"))
        if ending:
            ep["ending_criteria"] = str(ending)
    ep["status"] = episode_status(ep)
    return {key} if changed else set()


def waiting_days(ep: dict[str, Any], now: datetime) -> float | None:
    """Referral to first contact (or to now while still waiting)."""
    if ep["referred_at"] is None:
        return None
    end = ep["first_contact_at"] or (None if ep["status"] in ("declined", "redirected", "ended") else now)
    return None if end is None else round((end - ep["referred_at"]).total_seconds() / 86400, 1)
