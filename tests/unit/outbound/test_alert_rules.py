"""CP-IS style alert rules over events and views, from the bundled alert policy. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from hub.outbound.alert_rules import ChildFacts, child_statuses, councils_of, event_alerts, view_alerts
from hub.outbound.config import HERE, OutboundConfigError, parse_alerts, parse_subscribers

POLICY = parse_alerts(yaml.safe_load((HERE / "alerts.yaml").read_text()))
AT = datetime(2026, 9, 6, 3, 14, tzinfo=UTC)
ON_PLAN = ChildFacts("child-1", frozenset({"child-protection"}), ("990",))


def attendance(encounter_class: str = "E", kind: str = "encounter.started") -> dict[str, object]:
    return {"event_id": "ev-1", "kind": kind, "occurred_at": AT, "source": {"organisation": "RX1"}}


@pytest.mark.parametrize(
    ("facts", "encounter_class", "source_type", "kind", "expected"),
    [
        (ON_PLAN, "E", "acute-trust", "encounter.started", 1),
        (ChildFacts("child-1", frozenset({"looked-after"}), ("990",)), "E", "acute-trust", "encounter.started", 1),
        (ON_PLAN, "O", "acute-trust", "encounter.started", 0),  # outpatients is not urgent care
        (ON_PLAN, "E", "gp-practice", "encounter.started", 0),
        (ON_PLAN, "E", "acute-trust", "encounter.ended", 0),
        (ChildFacts("child-1", frozenset({"child-in-need"}), ("990",)), "E", "acute-trust", "encounter.started", 0),
        (ChildFacts("child-1", frozenset({"child-protection"}), ()), "E", "acute-trust", "encounter.started", 0),
    ],
)
def test_urgent_care_attendance(
    facts: ChildFacts, encounter_class: str, source_type: str, kind: str, expected: int
) -> None:
    alerts = event_alerts(POLICY, facts, attendance(kind=kind), {"encounter_class": encounter_class}, source_type)
    assert len(alerts) == expected
    if alerts:
        assert alerts[0].organisation == "990" and alerts[0].rule == "cpis-urgent-care-attendance"
        assert set(alerts[0].fields) == {"attended_at", "setting", "status"}  # nothing clinical


def test_the_same_event_always_raises_the_same_alert_id() -> None:
    a = event_alerts(POLICY, ON_PLAN, attendance(), {"encounter_class": "e"}, "acute-trust")
    b = event_alerts(POLICY, ON_PLAN, attendance(), {"encounter_class": "E"}, "acute-trust")
    assert [x.alert_id for x in a] == [x.alert_id for x in b]


def test_view_alerts_tell_the_council_who_looked_but_not_the_council_itself() -> None:
    alerts = view_alerts(POLICY, ON_PLAN, "A81001", "gp", "direct-care", AT, "read-1")
    assert len(alerts) == 1 and alerts[0].rule == "cpis-record-viewed"
    assert alerts[0].fields == {
        "viewed_at": AT.isoformat(),
        "viewer_organisation": "A81001",
        "viewer_role": "gp",
        "viewer_purpose": "direct-care",
        "status": "child-protection-plan",
    }
    assert view_alerts(POLICY, ON_PLAN, "990", "social-worker", "direct-care", AT, "read-2") == []
    assert view_alerts(POLICY, ChildFacts("c", frozenset(), ("990",)), "A81001", "gp", "direct-care", AT, "r") == []


def test_statuses_and_councils() -> None:
    assert child_statuses(POLICY, ChildFacts("c", frozenset({"looked-after", "child-protection"}), ())) == [
        "child-protection-plan",
        "looked-after",
    ]
    team: list[dict[str, object]] = [
        {"organisation": "990", "until": None},
        {"organisation": "991", "until": AT},
        {"organisation": "RX4", "until": None},
        {"organisation": "992", "until": None, "organisation_type": "local-authority"},
    ]
    assert councils_of(team, {"990": "local-authority", "991": "local-authority", "RX4": "camhs"}) == ("990", "992")


def test_malformed_policy_is_refused() -> None:
    with pytest.raises(OutboundConfigError):
        parse_alerts(
            {
                "statuses": {},
                "rules": [
                    {"id": "x", "trigger": "event", "notify": "responsible-council", "child_statuses": ["unknown"]}
                ],
            }
        )
    with pytest.raises(OutboundConfigError):
        parse_alerts({"rules": [{"id": "x", "trigger": "sometimes", "notify": "responsible-council"}]})
    with pytest.raises(OutboundConfigError):
        parse_subscribers(
            {
                "subscribers": [
                    {"organisation": "RX4", "role": "gp", "purpose": "direct-care"},
                    {"organisation": "RX4", "role": "gp", "purpose": "safeguarding"},
                ]
            }
        )
    assert {s.organisation for s in parse_subscribers(yaml.safe_load((HERE / "subscribers.yaml").read_text()))} == {
        "RX4",
        "100001",
        "990",
    }
