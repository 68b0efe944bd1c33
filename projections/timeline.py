"""Event → timeline row. Pure: the projection's only logic lives here, the sink just writes the rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import orjson


def _jsonable(value: Any) -> Any:
    """Dates and times as ISO text, tuples as lists: what the JSON columns store and reads get back.

    orjson's round trip does exactly that in C (it writes datetimes as `isoformat()` does); values it
    cannot take (e.g. non-string keys) go the slow way.
    """
    try:
        return orjson.loads(orjson.dumps(value))
    except orjson.JSONEncodeError:
        return _jsonable_slowly(value)


def _jsonable_slowly(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable_slowly(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable_slowly(v) for v in value]
    return value


def timeline_row(event: Mapping[str, Any]) -> dict[str, Any]:
    payload_type, payload = event["payload"]
    return {
        "entry_id": event["event_id"],
        "child_id": event["child_id"],
        "occurred_at": event["occurred_at"],
        "kind": event["kind"],
        "category": event["category"],
        "source_system": event["source"]["system"],
        "source_org": event["source"]["organisation"],
        "summary": event["summary"],
        "sensitivity_labels": list(event["sensitivity_labels"]),
        "sharing_basis": _jsonable(dict(event["sharing_basis"])),
        "correlation_ids": dict(event["correlation_ids"]),
        "detail": {"type": payload_type.rsplit(".", 1)[-1], **_jsonable(payload)},
        "status": "active",
    }
