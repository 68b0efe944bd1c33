"""How a story is told on the viewer: agencies and categories named and marked, an entry's detail as labelled
facts, the child at a glance (banner and status bar). Pure lookups over presentation.yaml and what the viewer
may already see: nothing here decides disclosure, and nothing here can add what the decisions left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class Presentation:
    raw: dict[str, Any]

    def agency(self, organisation_type: str | None) -> dict[str, str]:
        found = self.raw["agencies"].get(organisation_type or "") or self.raw["unknown_agency"]
        return {"label": str(found["label"]), "tone": str(found["tone"])}

    def category(self, code: str | None) -> str:
        return str(self.raw["categories"].get(code or "", (code or "involvement").replace("-", " ").capitalize()))

    def facts(self, detail: Mapping[str, Any] | None, names: Mapping[str, str]) -> list[dict[str, str]]:
        """The labelled detail of a full-level entry, in the order presentation.yaml gives, empty fields left out."""
        if not detail:
            return []
        labels: dict[str, str] = self.raw["detail"].get(str(detail.get("type")), {})
        orgs, dates = set(self.raw["organisations"]), set(self.raw["dates"])
        values: dict[str, dict[str, str]] = self.raw["values"]
        out = []
        for field, label in labels.items():
            value = detail.get(field)
            if value in (None, "", [], {}):
                continue
            if field in orgs:
                text = names.get(str(value), str(value))
            elif field in dates:
                text = _when(value)
            elif isinstance(value, list):
                text = ", ".join(str(v) for v in value)
            else:
                text = values.get(field, {}).get(str(value), str(value))
            if field == "plan_type":
                text = text.replace("-", " ").capitalize()
            out.append({"label": label, "value": text})
        return out

    @property
    def status_rules(self) -> dict[str, Any]:
        rules: dict[str, Any] = self.raw["status"]
        return rules


@cache
def bundled() -> Presentation:
    return Presentation(yaml.safe_load(resources.files("hub.read").joinpath("presentation.yaml").read_text()))


def _when(value: Any) -> str:
    """A date as `1 September 2026`; a date-time adds the time (UTC stored, shown as given)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    day = f"{moment.day} {moment:%B %Y}"
    if len(str(value)) <= 10 or (moment.hour, moment.minute) == (0, 0):
        return day
    return f"{day}, {moment:%H:%M}"


def nhs_number_text(value: str) -> str:
    """The NHS number as people write it: 3-3-4 (`943 476 5870`)."""
    digits = "".join(value.split())
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 else value


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def status_items(
    p: Presentation,
    open_plans: Iterable[Mapping[str, Any]],
    entries: Iterable[Mapping[str, Any]],
    episodes: Iterable[Mapping[str, Any]],
    names: Mapping[str, str],
    today: date,
) -> list[dict[str, str]]:
    """The status bar from what the viewer may see at summary or more: open plans, recent concerns of the
    listed categories, open referrals. Items the viewer may not see are simply absent (no count, no hint)."""
    rules = p.status_rules
    items: list[dict[str, str]] = []
    for plan in open_plans:
        rule = rules["plans"].get(str(plan.get("plan_type")))
        if rule:
            items.append({"label": rule["label"], "tone": rule["tone"], "since": str(plan.get("started_at") or "")})
    for entry in entries:
        rule = rules["concerns"].get(str(entry.get("category")))
        if rule is None or entry.get("level") == "flag" or entry.get("kind") not in rules["concern_kinds"]:
            continue
        raised = datetime.fromisoformat(str(entry["occurredAt"])).date()
        if (today - raised).days <= int(rules["concern_days"]):
            items.append({"label": rule["label"], "tone": rule["tone"], "since": raised.isoformat()})
    for ep in episodes:
        if ep.get("status") in rules["closed_episode_statuses"]:
            continue
        to = names.get(str(ep.get("referred_to")), str(ep.get("referred_to") or "")) if ep.get("referred_to") else ""
        label = rules["referral"]["label"] + (f" to {to}" if to else "")
        items.append({"label": label, "tone": rules["referral"]["tone"], "since": str(ep.get("referred_at") or "")})
    seen: set[tuple[str, str]] = set()
    unique = []
    for item in items:  # one line per kind of status: the most recent date
        key = (item["label"], item["tone"])
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique
