"""Canonical events for tests, completed from the Avro schemas so they always encode with the real codec."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from connectors.identifiers import NHS_NUMBER_SYSTEM
from hub.events.codec import default_schema_dir
from hub.events.model import event_id

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


@cache
def _payload_fields(record: str) -> list[dict[str, Any]]:
    schema = json.loads((default_schema_dir() / f"onestory.payload.{record}.avsc").read_text())
    fields: list[dict[str, Any]] = schema["fields"]
    return fields


def payload(record: str, **given: Any) -> tuple[str, dict[str, Any]]:
    """Fill optional fields (null unions → None, arrays → [], maps → {}) around what the test gives."""
    out: dict[str, Any] = {}
    for f in _payload_fields(record):
        name, ftype = f["name"], f["type"]
        if name in given:
            out[name] = given[name]
        elif "default" in f:
            out[name] = f["default"]
        elif isinstance(ftype, list) and "null" in ftype:
            out[name] = None
        elif isinstance(ftype, dict) and ftype.get("type") == "array":
            out[name] = []
        elif isinstance(ftype, dict) and ftype.get("type") == "map":
            out[name] = {}
        else:
            raise KeyError(f"payload {record} needs field {name!r}")
    unknown = set(given) - {f["name"] for f in _payload_fields(record)}
    if unknown:
        raise KeyError(f"payload {record} has no field(s) {sorted(unknown)}")
    return f"onestory.payload.{record}", out


def event(kind: str, category: str, org: str, record: str, fields: dict[str, Any], *, nhs: str = "9434765870",
          child_id: str | None = None, day: float = 0, org_type: str | None = None,
          basis: tuple[str, str | None] = ("consent", "C1"), labels: tuple[str, ...] = (),
          correlation: dict[str, str] | None = None, summary: str | None = None, n: int = 0) -> dict[str, Any]:
    at = T0 + timedelta(days=day)
    key = f"{org}|{kind}|{day}|{n}|{child_id or nhs}"
    return {
        "event_id": event_id("test", key, json.dumps(fields, sort_keys=True, default=str)),
        "kind": kind,
        "category": category,
        "child_id": child_id,
        "source": {"system": "test", "organisation": org, "organisation_type": org_type, "record_id": key},
        "occurred_at": at,
        "recorded_at": at + timedelta(minutes=5),
        "subject": {"identifiers": [{"system": NHS_NUMBER_SYSTEM, "value": nhs, "validated": True}],
                    "given_name": "Amara", "family_name": "Okafor", "birth_date": None, "sex": "F", "postcode": None},
        "sensitivity_labels": list(labels),
        "sharing_basis": {"kind": basis[0], "reference": basis[1], "decided_by": None, "reason": None},
        "correlation_ids": correlation or {},
        "summary": summary or kind.replace(".", " "),
        "payload": payload(record, **fields),
    }
