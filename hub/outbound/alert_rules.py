"""CP-IS style alert rules over events and record views. Pure: the caller supplies the child's state.

An alert names a rule, the organisation to tell and a few shared fields chosen by the policy (`share`),
never clinical content: for an A&E attendance, when and where (the setting is the contact point, as CP-IS
shows it) and which status put the child in scope; for a view, which organisation, role and purpose looked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.outbound.config import AlertPolicy, AlertRule

ALERT_LEVEL = "flag"


@dataclass(frozen=True)
class Alert:
    alert_id: str
    rule: str
    organisation: str
    child_id: str
    fields: dict[str, str]


@dataclass(frozen=True)
class ChildFacts:
    """What alert rules need to know about a child: open plan types and the councils responsible."""

    child_id: str
    open_plan_types: frozenset[str]
    councils: tuple[str, ...]


def child_statuses(policy: AlertPolicy, facts: ChildFacts) -> list[str]:
    return sorted(s for s, plan_types in policy.statuses.items() if plan_types & facts.open_plan_types)


def _alert_id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]


def _shared(rule: AlertRule, values: Mapping[str, str]) -> dict[str, str]:
    return {k: values[k] for k in rule.share if k in values}


def event_matches(
    rule: AlertRule, event: Mapping[str, Any], payload: Mapping[str, Any], source_type: str | None
) -> bool:
    if rule.on != "event" or (rule.kinds and event["kind"] not in rule.kinds):
        return False
    if rule.source_organisation_types and source_type not in rule.source_organisation_types:
        return False
    return all(
        str(payload.get(name) or "").upper() in {v.upper() for v in allowed} for name, allowed in rule.payload.items()
    )


def event_alerts(
    policy: AlertPolicy,
    facts: ChildFacts,
    event: Mapping[str, Any],
    payload: Mapping[str, Any],
    source_type: str | None,
) -> list[Alert]:
    """Alerts an event raises: one per matching rule and responsible council, with a deterministic id."""
    statuses = child_statuses(policy, facts)
    out = []
    for rule in policy.rules:
        in_scope = [s for s in statuses if s in rule.child_statuses]
        if not in_scope or not event_matches(rule, event, payload, source_type):
            continue
        occurred = event["occurred_at"]
        values = {
            "attended_at": occurred.isoformat() if isinstance(occurred, datetime) else str(occurred),
            "setting": str(event["source"]["organisation"]),
            "status": ",".join(in_scope),
        }
        for council in facts.councils:
            out.append(
                Alert(
                    _alert_id(rule.id, council, event["event_id"]),
                    rule.id,
                    council,
                    facts.child_id,
                    _shared(rule, values),
                )
            )
    return out


def view_alerts(
    policy: AlertPolicy,
    facts: ChildFacts,
    viewer_organisation: str,
    viewer_role: str,
    viewer_purpose: str,
    viewed_at: datetime,
    read_id: str,
) -> list[Alert]:
    """Alerts a read of the record raises; a council reading its own child's record does not alert itself."""
    statuses = child_statuses(policy, facts)
    out = []
    for rule in policy.rules:
        in_scope = [s for s in statuses if s in rule.child_statuses]
        if rule.on != "view" or not in_scope:
            continue
        values = {
            "viewed_at": viewed_at.isoformat(),
            "viewer_organisation": viewer_organisation,
            "viewer_role": viewer_role,
            "viewer_purpose": viewer_purpose,
            "status": ",".join(in_scope),
        }
        for council in facts.councils:
            if council != viewer_organisation:
                out.append(
                    Alert(_alert_id(rule.id, council, read_id), rule.id, council, facts.child_id, _shared(rule, values))
                )
    return out


def councils_of(team: Iterable[Mapping[str, Any]], org_types: Mapping[str, str]) -> tuple[str, ...]:
    """Local authorities currently in the team around the child (the allocated social worker's council)."""
    return tuple(
        sorted(
            {
                str(m["organisation"])
                for m in team
                if m.get("until") is None
                and (org_types.get(str(m["organisation"])) or m.get("organisation_type")) == "local-authority"
            }
        )
    )
