"""The "who looked" alert reads its configuration where the API is built: record_view uses what it is given."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from hub.auth.tokens import Principal
from hub.outbound.config import OutboundConfig
from hub.outbound.views import ViewAlerts, record_view
from hub.settings import OutboundSettings

VIEWER = Principal(user="u1", organisation="A81001", role="gp", purpose="direct-care", scopes=())


def test_view_alerts_load_the_bundled_configuration_with_view_rules() -> None:
    alerts = ViewAlerts.load(OutboundConfig.load(OutboundSettings()))
    assert any(rule.on == "view" for rule in alerts.config.alerts.rules)


def test_record_view_uses_the_alerts_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_args: Any) -> OutboundConfig:
        raise AssertionError("read the configuration although it was passed")

    config = OutboundConfig.load(OutboundSettings())
    monkeypatch.setattr(OutboundConfig, "load", never)
    no_view_rules = replace(config, alerts=replace(config.alerts, rules=()))
    conn: Any = None  # with no view rule, neither the database nor the policy is read
    policy: Any = None
    raised = record_view(conn, policy, VIEWER, "child-1", "read-1", datetime.now(UTC), ViewAlerts.load(no_view_rules))
    assert raised == 0
