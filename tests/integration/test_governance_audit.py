"""Consent changes and policy changes leave audit records, and the chain still verifies (issue 8)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from consent_engine import Policy, parse_policy
from hub.audit import log as audit
from hub.audit.policy_in_force import record_policy_in_force
from hub.audit.verify import verify
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.db.tables import audit_log
from hub.directory_file import bundled_directory
from hub.disclosure.rules import bundled_rules
from hub.events.codec import EventCodec
from hub.policy_files import default_policy_text, load_policy
from projections.child_projector import project_batch
from projections.sql_sink import Consumed
from tests.support.story import consent_given, withdraw_school

pytestmark = pytest.mark.integration


def load_policy_text(text: str) -> Policy:
    return parse_policy(text, directory=bundled_directory())


def test_consent_changes_and_policy_changes_are_audited(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    policy = load_policy()
    assert record_policy_in_force(engine, policy) is True
    assert record_policy_in_force(engine, policy) is False, "the same policy is not recorded twice"
    edited = load_policy_text(default_policy_text().replace("School or academy (DfE URN).", "School or academy."))
    assert edited.version == policy.version and edited.digest != policy.digest
    assert record_policy_in_force(engine, edited) is True, "an edit under the same label is still a change"

    codec = EventCodec.load()
    child = str(uuid.UUID(int=42))
    events = [consent_given(child), withdraw_school(child)]
    records = [
        Consumed("onestory.events.v1", 0, i, codec.encode(e), codec.decode(codec.encode(e)))
        for i, e in enumerate(events)
    ]
    project_batch(engine, policy, bundled_rules(), "projector.timeline", {"onestory.events.v1": "t1"}, records)
    project_batch(engine, policy, bundled_rules(), "projector.timeline", {"onestory.events.v1": "t1"}, records)
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.action, audit_log.c.child_id, audit_log.c.detail).order_by(audit_log.c.seq)
        ).all()
    consent_rows = [r for r in rows if r.action == audit.CONSENT_CHANGE]
    assert [(r.child_id, r.detail["consentId"], r.detail["status"]) for r in consent_rows] == [
        (child, "C1", "given"),
        (child, "C2", "withdrawn"),
    ], "one record per consent change, none on redelivery"
    assert [r.action for r in rows].count(audit.POLICY_CHANGE) == 2
    with engine.connect() as conn:
        result = verify(conn)
    assert result.ok, result.problem
    engine.dispose()
