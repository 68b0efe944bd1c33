""" "Now": the current THRIVE grouping (who agreed it, the young person's view), open plans, the agreed ending
and the young person's own words. Pure fold; each item keeps the entry id it came from so a read can show it
only to viewers who may see that entry.
"""

from __future__ import annotations

from typing import Any

from hub.disclosure.rules import Rules, first_field, payload_of


def empty_now() -> dict[str, Any]:
    return {"thrive": None, "plans": {}, "ending": None, "voice": []}


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _plan(rules: Rules) -> tuple[Any, ...]:
    """The "now" rules this fold reads, looked up (and the plan kinds joined) once per Rules object."""
    return rules.plan("now", _build_plan)


def _build_plan(rules: Rules) -> tuple[Any, ...]:
    return (
        rules.fields("now", "ending_fields"),
        rules.kinds("now", "thrive"),
        rules.kinds("now", "plan_started") | rules.kinds("now", "plan_ended"),
        rules.kinds("now", "plan_ended"),
        rules.kinds("now", "voice"),
    )


def fold_now(state: dict[str, Any], event: dict[str, Any], rules: Rules) -> bool:
    ending_fields, thrive, plans, plan_ended, voice_kinds = _plan(rules)
    kind = event["kind"]
    at = _iso(event["occurred_at"])
    payload = payload_of(event)
    ref = {"entry_id": event["event_id"], "at": at, "organisation": event["source"]["organisation"]}
    changed = False
    ending = first_field(payload, ending_fields)
    if ending and (state["ending"] is None or at >= state["ending"]["at"]):
        state["ending"] = {**ref, "criteria": str(ending)}
        changed = True
    if kind in thrive:
        if state["thrive"] is None or at >= state["thrive"]["at"]:
            state["thrive"] = {
                **ref,
                "grouping": payload.get("grouping"),
                "agreed_by": payload.get("agreed_by"),
                "agreed_with_young_person": payload.get("agreed_with_young_person"),
                "young_person_view": payload.get("young_person_view"),
            }
            changed = True
    elif kind in plans:
        key = (
            event["correlation_ids"].get("plan")
            or payload.get("plan_id")
            or f"{ref['organisation']}|{payload.get('plan_type')}"
        )
        plan = state["plans"].get(key)
        is_end = kind in plan_ended
        if plan is None or at >= plan["at"]:
            state["plans"][key] = {
                **ref,
                "plan_type": payload.get("plan_type") or (plan or {}).get("plan_type"),
                "open": not is_end,
                "started_at": (plan or {}).get("started_at") or at,
            }
            changed = True
    elif kind in voice_kinds:
        words = first_field(payload, rules.fields("now", "voice_fields"))
        if words and all(v["entry_id"] != ref["entry_id"] for v in state["voice"]):
            voice = sorted([*state["voice"], {**ref, "words": str(words)}], key=lambda v: v["at"], reverse=True)
            state["voice"] = voice[: int(rules.value("now", "keep_voice"))]
            changed = True
    return changed
