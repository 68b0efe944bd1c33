"""Subscription registration, topic/filter matching and notification bundles (R4 Subscriptions Backport). Pure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hub.outbound.fhir_subscription import (
    FILTER_EXT,
    STATUS_PROFILE,
    TOPIC_ALERT,
    TOPIC_ENTRY,
    TOPIC_REFERRAL,
    Notice,
    SubscriptionError,
    matches,
    notification_bundle,
    parse_subscription,
    subscription_resource,
)


def resource(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resourceType": "Subscription",
        "criteria": TOPIC_REFERRAL,
        "_criteria": {"extension": [{"url": FILTER_EXT, "valueString": "involved=true"}]},
        "channel": {
            "type": "rest-hook",
            "endpoint": "https://epr.example.nhs.uk/hook",
            "payload": "application/fhir+json",
        },
    }
    return base | changes


def test_a_backport_subscription_is_accepted() -> None:
    got = parse_subscription(resource())
    assert got.topic == TOPIC_REFERRAL and got.filters == {"involved": "true"}
    assert got.endpoint == "https://epr.example.nhs.uk/hook"
    assert parse_subscription(resource(channel={"type": "rest-hook", "endpoint": "http://127.0.0.1:9/h"})).endpoint


@pytest.mark.parametrize(
    "bad",
    [
        {"resourceType": "Patient"},
        {"criteria": "Encounter?class=E"},
        {"channel": {"type": "websocket", "endpoint": "https://x.example/h"}},
        {"channel": {"type": "rest-hook", "endpoint": "http://epr.example.nhs.uk/hook"}},  # plain http off-host
        {"channel": {"type": "rest-hook"}},
        {"_criteria": {"extension": [{"url": FILTER_EXT, "valueString": "category=referral"}]}},  # not this topic
    ],
)
def test_anything_else_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(SubscriptionError):
        parse_subscription(resource(**bad))


def test_topics_and_filters() -> None:
    referral = Notice("c", "disclose", "full", "e1", "referral.received", "referral", first=True)
    again = Notice("c", "disclose", "summary", "e1", "referral.received", "referral", first=False)
    concern = Notice("c", "disclose", "summary", "e2", "concern.raised", "pastoral-concern", first=True)
    alert = Notice("c", "alert", "flag", rule="cpis-record-viewed")
    assert matches(TOPIC_REFERRAL, {"involved": "true"}, referral, involved=True)
    assert not matches(TOPIC_REFERRAL, {"involved": "true"}, referral, involved=False)
    assert matches(TOPIC_REFERRAL, {}, referral, involved=False)
    assert not matches(TOPIC_REFERRAL, {}, again, involved=True)  # only new referrals
    assert not matches(TOPIC_REFERRAL, {}, concern, involved=True)
    assert matches(TOPIC_ENTRY, {"category": "referral"}, referral, involved=False)
    assert not matches(TOPIC_ENTRY, {"category": "referral"}, concern, involved=False)
    assert matches(TOPIC_ENTRY, {}, concern, involved=False) and not matches(TOPIC_ENTRY, {}, alert, involved=True)
    assert matches(TOPIC_ALERT, {}, alert, involved=False)
    assert not matches(TOPIC_ALERT, {"rule": "cpis-urgent-care-attendance"}, alert, involved=False)
    assert not matches(TOPIC_ALERT, {}, referral, involved=True)


def test_notification_bundle_shape() -> None:
    sub = {"id": "s1", "topic": TOPIC_ENTRY}
    at = datetime(2026, 11, 22, 9, tzinfo=UTC)
    bundle = notification_bundle(
        sub, 7, Notice("c1", "disclose", "summary", "e1", "concern.raised", "x", content={"summary": "s"}), at
    )
    assert bundle["type"] == "history"
    status, focus = bundle["entry"][0]["resource"], bundle["entry"][1]
    assert status["meta"]["profile"] == [STATUS_PROFILE]
    params = {p["name"]: p for p in status["parameter"]}
    assert params["events-since-subscription-start"]["valueString"] == "7"
    assert params["notification-event"]["part"][2]["valueReference"]["reference"] == "Basic/e1"
    assert focus["resource"]["subject"] == {"reference": "Patient/c1"}
    assert focus["resource"]["extension"][0]["valueCode"] == "summary"
    gone = notification_bundle(sub, 8, Notice("c1", "retract", "none", "e1"), at)["entry"][1]
    assert gone["request"] == {"method": "DELETE", "url": "Basic/e1"} and "resource" not in gone
    flag = notification_bundle(sub, 9, Notice("c1", "disclose", "flag", "e1", "concern.raised", "x"), at)
    assert flag["entry"][1]["resource"]["code"]["coding"][0]["code"] == "record-exists"  # a flag hides the kind


def test_the_secret_is_only_in_the_creation_reply() -> None:
    row = {"id": "s1", "status": "active", "topic": TOPIC_ENTRY, "filters": {"kind": "a"}, "endpoint": "https://x/h"}
    assert "extension" not in subscription_resource(row, "https://hub/fhir")
    assert subscription_resource(row, "https://hub/fhir", secret="k")["extension"][0]["valueString"] == "k"
