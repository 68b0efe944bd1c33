"""The subscription store: a change and its audit record commit together; an organisation sees only its own."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hub.audit.log import AuditRecord
from hub.db.engine import make_engine
from hub.db.feed_tables import subscriptions
from hub.db.migrate import upgrade
from hub.db.tables import audit_log
from hub.outbound import subscriptions_store

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _row(sub_id: str, organisation: str) -> dict[str, Any]:
    return {
        "id": sub_id,
        "organisation": organisation,
        "role": "camhs-clinician",
        "purpose": "direct-care",
        "user_id": "epr",
        "topic": "entry",
        "filters": {},
        "endpoint": "https://epr.example/hook",
        "secret": "s",
        "status": "active",
        "events_since_start": 0,
        "created_at": NOW,
        "reason": "referrals",
    }


def _record(action: str, sub_id: str) -> AuditRecord:
    return AuditRecord(
        action, "success", "epr", "RX4", "camhs-clinician", "direct-care", query=f"Subscription/{sub_id}"
    )


def test_add_find_and_end(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    upgrade(engine)
    subscriptions_store.add(engine, _row("s1", "RX4"), _record("subscription-create", "s1"), NOW)
    assert subscriptions_store.own(engine, "s1", "A81001") is None
    assert subscriptions_store.own(engine, "nope", "RX4") is None
    found = subscriptions_store.own(engine, "s1", "RX4")
    assert found is not None and found["status"] == "active" and found["endpoint"] == "https://epr.example/hook"
    subscriptions_store.end(engine, "s1", _record("subscription-delete", "s1"), NOW)
    ended = subscriptions_store.own(engine, "s1", "RX4")
    assert ended is not None and ended["status"] == "off"
    with engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.action).order_by(audit_log.c.seq)).scalars().all()
        assert conn.execute(select(func.count()).select_from(subscriptions)).scalar_one() == 1
    assert actions == ["subscription-create", "subscription-delete"]
    engine.dispose()


def test_a_failed_insert_leaves_no_audit_record(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    upgrade(engine)
    subscriptions_store.add(engine, _row("s1", "RX4"), _record("subscription-create", "s1"), NOW)
    with pytest.raises(IntegrityError):  # the same id again
        subscriptions_store.add(engine, _row("s1", "RX4"), _record("subscription-create", "s1"), NOW)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 1
    engine.dispose()
