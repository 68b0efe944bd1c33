"""The "who looked" alert: a read of a child on a plan tells the responsible council, in the read's transaction.

Called by the API after the read's own audit record; the alert (organisation, role, purpose, time: no
clinical content and no name) is queued on the council's feed and alert subscriptions and audited, so the
read, its audit record and the alert commit together. What it needs (the outbound configuration, the feed
codec) is loaded by whoever builds the API (`ViewAlerts.load()`, beside the policy) and passed to every call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from consent_engine import Policy
from hub.auth.tokens import Principal
from hub.db.projection_tables import child_now, team_members
from hub.outbound.alert_rules import ChildFacts, councils_of, view_alerts
from hub.outbound.config import OutboundConfig
from hub.outbound.dispatch import active_subscriptions, raise_alerts
from hub.outbound.feed_codec import FeedCodec


@dataclass(frozen=True)
class ViewAlerts:
    """The alert policy, subscriptions settings and feed codec a "who looked" alert is raised with."""

    config: OutboundConfig
    codec: FeedCodec

    @classmethod
    def load(cls, config: OutboundConfig) -> ViewAlerts:
        """Read once where the API is built: the API process shares the worker's ONESTORY_OUTBOUND_* settings."""
        return cls(config, FeedCodec.load())


def record_view(
    conn: Connection,
    policy: Policy,
    viewer: Principal,
    child_id: str,
    read_id: str,
    now: datetime,
    outbound: ViewAlerts,
    kept: tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]] | None = None,
) -> int:
    """Raise the configured view alerts for this read; returns how many were raised.

    `kept`: the child's "now" state and team as the read decided from them (hub.read.story_cache), so that the
    alert follows what the read saw and a read does not query them again; without it they are read here.
    """
    config, codec = outbound.config, outbound.codec
    if not any(rule.on == "view" for rule in config.alerts.rules):
        return 0
    if kept is None:
        state = conn.execute(select(child_now.c.state).where(child_now.c.child_id == child_id)).scalar() or {}
    else:
        state = kept[0]
    open_types = frozenset(str(p.get("plan_type")) for p in (state.get("plans") or {}).values() if p.get("open"))
    if not open_types:
        return 0
    if kept is None:
        team: Sequence[Mapping[str, Any]] = [
            dict(r._mapping) for r in conn.execute(select(team_members).where(team_members.c.child_id == child_id))
        ]
    else:
        team = kept[1]
    org_types = {code: org.type for code, org in policy.organisations.items()}
    facts = ChildFacts(child_id, open_types, councils_of(team, org_types))
    alerts = view_alerts(config.alerts, facts, viewer.organisation, viewer.role, viewer.purpose, now, read_id)
    if not alerts:
        return 0
    return raise_alerts(conn, config, codec, alerts, active_subscriptions(conn), now)
