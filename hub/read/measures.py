"""Outcome-measure trends across a child's entries, as one viewer may see them. Pure.

An outcome measure (SDQ, RCADS, ORS/CORS...; connectors/value_sets.yaml) is an Assessment entry whose detail has
`measure` and a numeric `score_value`. Each such entry the viewer sees at full gets `detail.trend`: the previous
score of the same measure (and respondent) the same viewer sees at full, the change and whether that is better
or worse by the measure's direction. Entries the viewer does not see at full never enter a trend, so a trend can
never hint at a hidden score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

FULL = "full"


def _series_key(detail: Mapping[str, Any]) -> tuple[str, str] | None:
    if not detail.get("measure") or not isinstance(detail.get("score_value"), int | float):
        return None
    return str(detail["measure"]), str(detail.get("respondent") or "")


def trend(previous: Mapping[str, Any], current: Mapping[str, Any], previous_at: datetime) -> dict[str, Any]:
    """How `current` compares with `previous` (both outcome-measure details of one series)."""
    change = float(current["score_value"]) - float(previous["score_value"])
    better = current.get("higher_is_better")
    if change == 0:
        direction = "same"
    elif better is None:
        direction = "up" if change > 0 else "down"
    else:
        direction = "better" if (change > 0) == bool(better) else "worse"
    return {
        "previousScore": previous.get("score"),
        "previousAt": previous_at.isoformat(),
        "change": round(change, 2),
        "direction": direction,
    }


def trends(rows: Iterable[Mapping[str, Any]], level_of: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """entry id → trend, for outcome-measure entries seen at full that have an earlier one in their series."""
    seen = [
        r
        for r in rows
        if level_of.get(r["entry_id"]) == FULL
        and r.get("status", "active") == "active"
        and _series_key(r.get("detail") or {}) is not None
    ]
    seen.sort(key=lambda r: (r["occurred_at"], r["entry_id"]))
    last: dict[tuple[str, str], Mapping[str, Any]] = {}
    out: dict[str, dict[str, Any]] = {}
    for row in seen:
        detail = row["detail"]
        key = _series_key(detail)
        assert key is not None
        before = last.get(key)
        if before is not None:
            out[row["entry_id"]] = trend(before["detail"], detail, before["occurred_at"])
        last[key] = row
    return out


def annotate(rows: list[dict[str, Any]], entries: list[dict[str, Any]], level_of: Mapping[str, str]) -> None:
    """Put each trend into the row's and the disclosed entry's detail (new dicts: stored rows stay as read)."""
    found = trends(rows, level_of)
    if not found:
        return
    for row in rows:
        if row["entry_id"] in found:
            row["detail"] = {**row["detail"], "trend": found[row["entry_id"]]}
    for entry in entries:
        if entry.get("id") in found and entry.get("detail") is not None:
            entry["detail"] = {**entry["detail"], "trend": found[entry["id"]]}
