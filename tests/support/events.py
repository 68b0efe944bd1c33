"""Canonical events for tests, completed from the Avro schemas so they always encode with the real codec."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.identifiers import NHS_NUMBER_SYSTEM
from hub.events.model import event_id
from hub.events.payloads import payload

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def event(
    kind: str,
    category: str,
    org: str,
    record: str,
    fields: dict[str, Any],
    *,
    nhs: str = "9434765870",
    child_id: str | None = None,
    day: float = 0,
    org_type: str | None = None,
    basis: tuple[str, str | None] = ("consent", "C1"),
    labels: tuple[str, ...] = (),
    correlation: dict[str, str] | None = None,
    summary: str | None = None,
    n: int = 0,
) -> dict[str, Any]:
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
        "subject": {
            "identifiers": [{"system": NHS_NUMBER_SYSTEM, "value": nhs, "validated": True}],
            "given_name": "Amara",
            "family_name": "Okafor",
            "birth_date": None,
            "sex": "F",
            "postcode": None,
        },
        "sensitivity_labels": list(labels),
        "sharing_basis": {"kind": basis[0], "reference": basis[1], "decided_by": None, "reason": None},
        "correlation_ids": correlation or {},
        "summary": summary or kind.replace(".", " "),
        "payload": payload(record, **fields),
    }
