"""FHIR R4 topic-based Subscriptions as the Subscriptions R5 Backport IG profiles them. Pure.

A Subscription names a SubscriptionTopic canonical in `criteria`, its filters in the backport extension
`backport-filter-criteria` on `_criteria`, and a rest-hook channel. A notification is a `history` Bundle whose
first entry is a SubscriptionStatus `Parameters` resource; the focus entries follow: a `Basic` resource per
disclosed entry (level and content exactly as the hub API shows them), a DELETE entry per retraction.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
FILTER_EXT = f"{BACKPORT}/backport-filter-criteria"
PAYLOAD_EXT = f"{BACKPORT}/backport-payload-content"
STATUS_PROFILE = f"{BACKPORT}/backport-subscription-status-r4"
TOPIC_BASE = "https://onestory.example.org/fhir/SubscriptionTopic"
ONESTORY_EXT = "https://onestory.example.org/fhir/StructureDefinition"
LEVEL_EXT = f"{ONESTORY_EXT}/disclosure-level"
CONTENT_EXT = f"{ONESTORY_EXT}/disclosure-content"
SECRET_EXT = f"{ONESTORY_EXT}/signing-secret"
KIND_SYSTEM = "https://onestory.example.org/fhir/CodeSystem/event-kind"

TOPIC_ENTRY = f"{TOPIC_BASE}/entry"
TOPIC_REFERRAL = f"{TOPIC_BASE}/new-referral"
TOPIC_ALERT = f"{TOPIC_BASE}/alert"
TOPICS = {
    TOPIC_ENTRY: {"kind", "category"},
    TOPIC_REFERRAL: {"involved"},
    TOPIC_ALERT: {"rule"},
}
REFERRAL_KINDS = frozenset({"referral.made", "referral.received", "self-referral.submitted"})


class SubscriptionError(ValueError):
    """The Subscription resource cannot be accepted; the message is safe to return in an OperationOutcome."""


@dataclass(frozen=True)
class SubscriptionRequest:
    topic: str
    filters: dict[str, str]
    endpoint: str
    reason: str | None


@dataclass(frozen=True)
class Notice:
    """One thing a subscription may be told about: an entry disclosed or retracted, or an alert."""

    child_id: str
    op: str  # disclose | retract | alert
    level: str
    entry_id: str | None = None
    kind: str | None = None
    category: str | None = None
    first: bool = False  # the first time this recipient is told about the entry
    content: dict[str, Any] = field(default_factory=dict)
    rule: str | None = None


def _endpoint(url: Any) -> str:
    """https only, except plain http to a loopback address (local development and tests)."""
    if not isinstance(url, str):
        raise SubscriptionError("channel.endpoint is required")
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname:
        host = parts.hostname
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return url
    raise SubscriptionError("channel.endpoint must be an https URL (http only to a loopback address)")


def parse_subscription(resource: Any) -> SubscriptionRequest:
    if not isinstance(resource, dict) or resource.get("resourceType") != "Subscription":
        raise SubscriptionError("expected a Subscription resource")
    topic = resource.get("criteria")
    if topic not in TOPICS:
        raise SubscriptionError(f"criteria must be one of the hub's SubscriptionTopics: {sorted(TOPICS)}")
    channel = resource.get("channel") or {}
    if channel.get("type") != "rest-hook":
        raise SubscriptionError("only channel.type rest-hook is supported")
    if channel.get("payload", "application/fhir+json") != "application/fhir+json":
        raise SubscriptionError("channel.payload must be application/fhir+json")
    content = [
        e.get("valueCode") for e in (channel.get("_payload") or {}).get("extension", []) if e.get("url") == PAYLOAD_EXT
    ]
    if content and content[0] != "full-resource":
        raise SubscriptionError("only full-resource payload content is supported")
    filters: dict[str, str] = {}
    for ext in (resource.get("_criteria") or {}).get("extension", []):
        if ext.get("url") == FILTER_EXT:
            filters.update(parse_qsl(str(ext.get("valueString", "")), keep_blank_values=False))
    unknown = set(filters) - TOPICS[topic]
    if unknown:
        raise SubscriptionError(f"unsupported filter(s) for this topic: {sorted(unknown)}")
    return SubscriptionRequest(topic, filters, _endpoint(channel.get("endpoint")), resource.get("reason"))


def matches(topic: str, filters: dict[str, str], notice: Notice, involved: bool) -> bool:
    """Whether a notice belongs to a subscription's topic and passes its filters."""
    if topic == TOPIC_ALERT:
        return notice.op == "alert" and filters.get("rule", notice.rule) == notice.rule
    if notice.op == "alert":
        return False
    if topic == TOPIC_REFERRAL:
        if notice.kind not in REFERRAL_KINDS and notice.op != "retract":
            return False
        if notice.op == "disclose" and not notice.first:
            return False
        return filters.get("involved") != "true" or involved
    return all(filters.get(name, getattr(notice, name)) == getattr(notice, name) for name in ("kind", "category"))


def subscription_resource(row: dict[str, Any], base_url: str, secret: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Subscription",
        "id": row["id"],
        "meta": {"profile": [f"{BACKPORT}/backport-subscription"]},
        "status": "active" if row["status"] == "active" else "off",
        "reason": row.get("reason") or "OneStory outbound notifications",
        "criteria": row["topic"],
        "channel": {
            "type": "rest-hook",
            "endpoint": row["endpoint"],
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": PAYLOAD_EXT, "valueCode": "full-resource"}]},
        },
    }
    if row["filters"]:
        query = "&".join(f"{k}={v}" for k, v in sorted(row["filters"].items()))
        out["_criteria"] = {"extension": [{"url": FILTER_EXT, "valueString": query}]}
    if secret is not None:  # shown once, in the reply to the POST that created it
        out["extension"] = [{"url": SECRET_EXT, "valueString": secret}]
    return out


def _focus(notice: Notice) -> dict[str, Any]:
    if notice.op == "retract":
        return {
            "fullUrl": f"Basic/{notice.entry_id}",
            "request": {"method": "DELETE", "url": f"Basic/{notice.entry_id}"},
            "response": {"status": "204"},
        }
    basic_id = notice.entry_id or f"alert-{uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(notice.content, sort_keys=True))}"
    code = (
        notice.kind
        if notice.op == "disclose" and notice.level != "flag"
        else (f"alert:{notice.rule}" if notice.op == "alert" else "record-exists")
    )
    resource = {
        "resourceType": "Basic",
        "id": basic_id,
        "code": {"coding": [{"system": KIND_SYSTEM, "code": code}]},
        "subject": {"reference": f"Patient/{notice.child_id}"},
        "extension": [
            {"url": LEVEL_EXT, "valueCode": notice.level},
            {"url": CONTENT_EXT, "valueString": json.dumps(notice.content, sort_keys=True, default=str)},
        ],
    }
    return {
        "fullUrl": f"Basic/{basic_id}",
        "resource": resource,
        "request": {"method": "PUT", "url": f"Basic/{basic_id}"},
        "response": {"status": "200"},
    }


def notification_bundle(
    subscription: dict[str, Any], event_number: int, notice: Notice, at: datetime
) -> dict[str, Any]:
    focus = _focus(notice)
    status = {
        "resourceType": "Parameters",
        "meta": {"profile": [STATUS_PROFILE]},
        "parameter": [
            {"name": "subscription", "valueReference": {"reference": f"Subscription/{subscription['id']}"}},
            {"name": "topic", "valueCanonical": subscription["topic"]},
            {"name": "status", "valueCode": "active"},
            {"name": "type", "valueCode": "event-notification"},
            {"name": "events-since-subscription-start", "valueString": str(event_number)},
            {
                "name": "notification-event",
                "part": [
                    {"name": "event-number", "valueString": str(event_number)},
                    {"name": "timestamp", "valueInstant": at.isoformat()},
                    {"name": "focus", "valueReference": {"reference": focus["fullUrl"]}},
                ],
            },
        ],
    }
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{subscription['id']}|{event_number}")),
        "type": "history",
        "timestamp": at.isoformat(),
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": status,
                "request": {"method": "GET", "url": f"Subscription/{subscription['id']}/$status"},
                "response": {"status": "200"},
            },
            focus,
        ],
    }
