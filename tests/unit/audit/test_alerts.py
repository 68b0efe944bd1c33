"""The privacy-alert rules of docs/ig-alerts.md, as tables of access-log items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hub.audit import alerts
from hub.audit.config import AlertThresholds

MONDAY_NOON = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)  # GMT in November: London = UTC


def item(seq: int, user: str = "u1", child: str | None = "c1", at: datetime = MONDAY_NOON, **kw: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "recordedAt": at.isoformat(),
        "action": "read",
        "outcome": "success",
        "user": user,
        "childId": child,
        "legitimateRelationship": True,
        **kw,
    }


T = AlertThresholds(out_of_hours_min_accesses=3, volume_max_children_per_day=4, volume_max_accesses_per_day=10)


def test_surname_and_postcode_match_ignores_case_and_spaces() -> None:
    staff = {"u1": ("Smith", "LS1 4AP"), "u2": ("Smith", "LS2 7XX")}
    kids = {"c1": {("SMITH", "ls14ap")}, "c2": {("Jones", "LS1 4AP")}}
    found = alerts.surname_postcode([item(1), item(2, child="c2"), item(3, user="u2"), item(4, user="u3")], staff, kids)
    assert [(a.rule, a.user, a.child_id, a.seqs) for a in found] == [("surname-postcode", "u1", "c1", (1,))]


def test_surname_alone_or_denied_reads_raise_nothing() -> None:
    staff = {"u1": ("Smith", "")}
    kids = {"c1": {("Smith", "")}}
    assert alerts.surname_postcode([item(1), item(2, outcome="denied")], staff, kids) == []


def test_out_of_hours_counts_per_user_per_local_day_from_the_threshold() -> None:
    night = MONDAY_NOON.replace(hour=2)
    saturday = MONDAY_NOON - timedelta(days=2)
    summer_evening = datetime(2026, 7, 14, 17, 30, tzinfo=UTC)  # 18:30 in London (BST): out of hours
    items = [item(i, at=night + timedelta(minutes=i)) for i in range(3)]
    items += [item(10 + i, user="u2", at=saturday + timedelta(minutes=i)) for i in range(3)]
    items += [item(20 + i, user="u3", at=night) for i in range(2)]  # below the threshold
    items += [item(30 + i, user="u4", at=summer_evening) for i in range(3)]
    found = {(a.user, a.day) for a in alerts.out_of_hours(items, T)}
    assert found == {("u1", "2026-11-16"), ("u2", "2026-11-14"), ("u4", "2026-07-14")}
    assert alerts.out_of_hours([item(i) for i in range(10)], T) == []  # working hours


def test_unusual_volume_by_children_or_by_accesses() -> None:
    many_children = [item(i, child=f"c{i}") for i in range(5)]
    many_reads = [item(100 + i, user="u2") for i in range(11)]
    normal = [item(200 + i, user="u3", child=f"c{i}") for i in range(4)]
    found = {a.user for a in alerts.unusual_volume(many_children + many_reads + normal, T)}
    assert found == {"u1", "u2"}


def test_no_relationship_leaves_break_glass_to_its_queue() -> None:
    items = [
        item(1, legitimateRelationship=False),
        item(2, legitimateRelationship=None),
        item(3, action="break-glass", legitimateRelationship=False),
    ]
    assert [a.seqs for a in alerts.no_relationship(items)] == [(1,)]


def test_evaluate_respects_switches() -> None:
    items = [item(1, legitimateRelationship=False)]
    staff, kids = {"u1": ("A", "X1")}, {"c1": {("A", "X1")}}
    assert {a.rule for a in alerts.evaluate(items, T, staff, kids)} == {"surname-postcode", "no-relationship"}
    off = T.model_copy(update={"surname_postcode_match": False, "no_relationship": False})
    assert alerts.evaluate(items, off, staff, kids) == []
