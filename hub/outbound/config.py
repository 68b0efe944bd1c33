"""Outbound configuration: who subscribes to a feed (YAML), the alert policy (YAML) and delivery settings.

Subscribers and alerts are policy data, read once when a process starts and passed down; delivery timing
comes from ONESTORY_OUTBOUND_* (hub.settings.OutboundSettings, part of the deployable's HubSettings) so that
tests and operators can tune retries without editing code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hub.settings import OutboundSettings

HERE = Path(__file__).resolve().parent
BUNDLED_SUBSCRIBERS = HERE / "subscribers.yaml"
BUNDLED_ALERTS = HERE / "alerts.yaml"


@dataclass(frozen=True)
class Subscriber:
    """An organisation's feed and the viewer class (role, purpose) it receives as."""

    organisation: str
    role: str
    purpose: str

    @property
    def recipient(self) -> str:
        return f"feed:{self.organisation}"


@dataclass(frozen=True)
class AlertRule:
    id: str
    description: str
    on: str  # event | view
    child_statuses: tuple[str, ...]
    notify: str  # responsible-council
    share: tuple[str, ...]
    kinds: frozenset[str] = frozenset()
    payload: dict[str, frozenset[str]] = field(default_factory=dict)
    source_organisation_types: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AlertPolicy:
    version: str
    statuses: dict[str, frozenset[str]]  # status -> plan types
    rules: tuple[AlertRule, ...]


class OutboundConfigError(ValueError):
    """The subscribers or alerts YAML is malformed; the worker refuses to start rather than share wrongly."""


def parse_subscribers(data: dict[str, Any]) -> tuple[Subscriber, ...]:
    out = []
    for item in data.get("subscribers") or []:
        try:
            out.append(Subscriber(str(item["organisation"]), str(item["role"]), str(item["purpose"])))
        except (KeyError, TypeError) as exc:
            raise OutboundConfigError(f"subscriber entry needs organisation, role and purpose: {exc}") from exc
    orgs = [s.organisation for s in out]
    if len(orgs) != len(set(orgs)):
        raise OutboundConfigError("an organisation may have one feed subscription only")
    return tuple(out)


def parse_alerts(data: dict[str, Any]) -> AlertPolicy:
    statuses = {str(k): frozenset(map(str, v)) for k, v in (data.get("statuses") or {}).items()}
    rules = []
    for item in data.get("rules") or []:
        when = item.get("when") or {}
        rule = AlertRule(
            id=str(item["id"]),
            description=str(item.get("description", "")),
            on=str(item["trigger"]),
            child_statuses=tuple(map(str, item.get("child_statuses") or ())),
            notify=str(item["notify"]),
            share=tuple(map(str, item.get("share") or ())),
            kinds=frozenset(map(str, when.get("kinds") or ())),
            payload={str(k): frozenset(map(str, v)) for k, v in (when.get("payload") or {}).items()},
            source_organisation_types=frozenset(map(str, when.get("source_organisation_types") or ())),
        )
        if rule.on not in ("event", "view"):
            raise OutboundConfigError(f"alert {rule.id}: `trigger` must be event or view")
        if rule.notify != "responsible-council":
            raise OutboundConfigError(f"alert {rule.id}: only `notify: responsible-council` is supported")
        unknown = set(rule.child_statuses) - set(statuses)
        if unknown:
            raise OutboundConfigError(f"alert {rule.id}: unknown child statuses {sorted(unknown)}")
        rules.append(rule)
    return AlertPolicy(str(data.get("version", "unversioned")), statuses, tuple(rules))


@dataclass(frozen=True)
class OutboundConfig:
    subscribers: tuple[Subscriber, ...]
    alerts: AlertPolicy
    settings: OutboundSettings

    @classmethod
    def load(cls, settings: OutboundSettings) -> OutboundConfig:
        """Read once by whoever builds the process (its `main()`), from the settings it built."""
        subscribers = settings.subscribers_file or BUNDLED_SUBSCRIBERS
        alerts = settings.alerts_file or BUNDLED_ALERTS
        return cls(
            subscribers=parse_subscribers(yaml.safe_load(subscribers.read_text()) or {}),
            alerts=parse_alerts(yaml.safe_load(alerts.read_text()) or {}),
            settings=settings,
        )

    def feed_of(self, organisation: str) -> Subscriber | None:
        return next((s for s in self.subscribers if s.organisation == organisation), None)
