"""Privacy alerts: pure rules over access-log items, thresholds from ig.yaml (documented in docs/ig-alerts.md).

Each rule takes the items (search.as_item dicts, any order) and returns alerts; nothing here reads a clock
or a database, so the rules are tested as tables of items. Alerts carry seqs and ids, never content.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.audit.config import AlertThresholds

ACCESS_ACTIONS = frozenset({"read", "query", "break-glass"})


@dataclass(frozen=True)
class Alert:
    rule: str
    user: str
    message: str
    seqs: tuple[int, ...]
    child_id: str | None = None
    day: str | None = None

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["seqs"] = list(self.seqs)
        out["childId"] = out.pop("child_id")
        return out


def normalise_postcode(value: str | None) -> str:
    return "".join((value or "").split()).upper()


def _accesses(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in items if i["action"] in ACCESS_ACTIONS and i["outcome"] == "success"]


def surname_postcode(
    items: Iterable[dict[str, Any]], staff: Mapping[str, tuple[str, str]], children: Mapping[str, set[tuple[str, str]]]
) -> list[Alert]:
    """A user opening the record of a child who shares their surname and postcode (a likely relative)."""
    hits: dict[tuple[str, str], list[int]] = defaultdict(list)
    for item in _accesses(items):
        person = staff.get(item["user"])
        if person is None or not item.get("childId"):
            continue
        mine = (person[0].strip().casefold(), normalise_postcode(person[1]))
        theirs = {(f.strip().casefold(), normalise_postcode(p)) for f, p in children.get(item["childId"], set())}
        if mine[0] and mine[1] and mine in theirs:
            hits[(item["user"], item["childId"])].append(item["seq"])
    return [
        Alert(
            "surname-postcode",
            user,
            "viewed a child who shares their surname and postcode",
            tuple(seqs),
            child_id=child,
        )
        for (user, child), seqs in sorted(hits.items())
    ]


def _local(item: dict[str, Any], zone: ZoneInfo) -> datetime:
    return datetime.fromisoformat(item["recordedAt"]).astimezone(zone)


def out_of_hours(items: Iterable[dict[str, Any]], t: AlertThresholds) -> list[Alert]:
    """At least N accesses by one user on one local day outside working hours and weekdays."""
    zone = ZoneInfo(t.timezone)
    by_day: dict[tuple[str, str], list[int]] = defaultdict(list)
    for item in _accesses(items):
        at = _local(item, zone)
        working = at.weekday() in t.working_weekdays and t.working_day_start <= at.time() < t.working_day_end
        if not working:
            by_day[(item["user"], at.date().isoformat())].append(item["seq"])
    return [
        Alert("out-of-hours", user, f"{len(seqs)} accesses outside working hours", tuple(seqs), day=day)
        for (user, day), seqs in sorted(by_day.items())
        if len(seqs) >= t.out_of_hours_min_accesses
    ]


def unusual_volume(items: Iterable[dict[str, Any]], t: AlertThresholds) -> list[Alert]:
    """More distinct children, or more accesses, by one user in one local day than the thresholds allow."""
    zone = ZoneInfo(t.timezone)
    seqs: dict[tuple[str, str], list[int]] = defaultdict(list)
    kids: dict[tuple[str, str], set[str]] = defaultdict(set)
    for item in _accesses(items):
        key = (item["user"], _local(item, zone).date().isoformat())
        seqs[key].append(item["seq"])
        if item.get("childId"):
            kids[key].add(item["childId"])
    out = []
    for (user, day), found in sorted(seqs.items()):
        n_children = len(kids[(user, day)])
        if n_children > t.volume_max_children_per_day or len(found) > t.volume_max_accesses_per_day:
            out.append(
                Alert(
                    "unusual-volume",
                    user,
                    f"{len(found)} accesses to {n_children} children in a day",
                    tuple(found),
                    day=day,
                )
            )
    return out


def _under_break_glass(item: dict[str, Any]) -> bool:
    """A read that relied on a break-glass declaration (its record names the declaration)."""
    return isinstance(item.get("detail"), dict) and "breakGlass" in item["detail"]


def no_relationship(items: Iterable[dict[str, Any]]) -> list[Alert]:
    """Each access recorded without a legitimate relationship (break-glass, and reads under it, have their own
    queue and alert)."""
    return [
        Alert(
            "no-relationship",
            i["user"],
            "accessed a record without a legitimate relationship",
            (i["seq"],),
            child_id=i.get("childId"),
        )
        for i in _accesses(items)
        if i.get("legitimateRelationship") is False and i["action"] != "break-glass" and not _under_break_glass(i)
    ]


def break_glass(items: Iterable[dict[str, Any]]) -> list[Alert]:
    """Each break-glass declaration, with the seqs of the reads made under it. Always on: it cannot be disabled."""
    items = list(items)
    reads: dict[str, list[int]] = defaultdict(list)
    for i in _accesses(items):
        if _under_break_glass(i):
            reads[str(i["detail"]["breakGlass"])].append(i["seq"])
    return [
        Alert(
            "break-glass",
            i["user"],
            "declared break-glass: review it in the break-glass queue",
            (i["seq"], *reads.get(str((i.get("detail") or {}).get("breakGlass")), [])),
            child_id=i.get("childId"),
        )
        for i in _accesses(items)
        if i["action"] == "break-glass"
    ]


def access_code_locked(items: Iterable[dict[str, Any]]) -> list[Alert]:
    """A "My story" access code locked after too many wrong tries (someone may be guessing a young person's
    code): each lock is its own alert, on the child whose code it was."""
    return [
        Alert(
            "access-code-locked",
            i["user"],
            "a My story access code was locked after too many wrong tries",
            (i["seq"],),
            child_id=i.get("childId"),
        )
        for i in items
        if i["action"] == "sign-in" and i["outcome"] == "locked"
    ]


RULES: dict[str, Callable[..., list[Alert]]] = {
    "surname-postcode": surname_postcode,
    "out-of-hours": out_of_hours,
    "unusual-volume": unusual_volume,
    "no-relationship": no_relationship,
    "access-code-locked": access_code_locked,
    "break-glass": break_glass,
}


def evaluate(
    items: list[dict[str, Any]],
    t: AlertThresholds,
    staff: Mapping[str, tuple[str, str]],
    children: Mapping[str, set[tuple[str, str]]],
) -> list[Alert]:
    """Every enabled rule over the same items."""
    alerts: list[Alert] = []
    if t.surname_postcode_match:
        alerts += surname_postcode(items, staff, children)
    alerts += out_of_hours(items, t)
    alerts += unusual_volume(items, t)
    if t.no_relationship:
        alerts += no_relationship(items)
    alerts += access_code_locked(items)
    alerts += break_glass(items)
    return alerts
