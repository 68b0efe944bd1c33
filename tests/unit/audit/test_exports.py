"""FHIR AuditEvent mapping (validated with fhir.resources R4B), CSV safety, PDF, checkpoints and config."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fhir.resources.R4B.auditevent import AuditEvent

from hub.audit import checkpoints, exports
from hub.audit.config import load_ig_config
from hub.audit.fhir_audit import audit_event

ITEM = {
    "seq": 7,
    "recordedAt": "2026-11-22T08:00:00+00:00",
    "action": "read",
    "outcome": "success",
    "user": "u1",
    "organisation": "RX1",
    "role": "gp",
    "purpose": "direct-care",
    "childId": "c1",
    "query": "timeline",
    "entries": [{"id": "e1", "level": "summary"}],
    "clientAddress": "10.0.0.1",
    "policyVersion": "2026.11",
    "reason": None,
    "legitimateRelationship": True,
    "detail": None,
}


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"action": "break-glass", "reason": "emergency", "legitimateRelationship": False},
        {"action": "deny", "outcome": "denied", "entries": []},
        {"action": "query", "childId": None},
        {"action": "consent-change", "purpose": "safeguarding", "detail": {"consentId": "x"}},
        {"action": "purge", "childId": None, "clientAddress": None, "policyVersion": None, "query": None},
        {"action": "ig-access", "purpose": "audit", "outcome": "not-found"},
    ],
)
def test_every_kind_of_record_is_a_valid_balp_shaped_audit_event(change: dict[str, object]) -> None:
    resource = audit_event({**ITEM, **change})
    event = AuditEvent.model_validate(resource)
    assert event.agent[0].requestor is True
    assert event.recorded is not None and event.recorded.isoformat().startswith("2026-11-22T08:00:00")
    if change.get("childId", ITEM["childId"]):
        assert event.entity and event.entity[0].what and event.entity[0].what.reference == "Patient/c1"


def test_ndjson_is_one_valid_event_per_line() -> None:
    lines = exports.to_ndjson([ITEM, {**ITEM, "seq": 8}]).splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["onestory-audit-7", "onestory-audit-8"]


def test_csv_cells_cannot_become_formulas() -> None:
    text = exports.to_csv([{**ITEM, "user": '=HYPERLINK("x")', "reason": "+1"}])
    assert "'=HYPERLINK" in text and ",'+1," in text


def test_the_disclosure_pdf_is_a_pdf_even_with_non_latin_text() -> None:
    body = exports.disclosure_pdf("c1", [{**ITEM, "reason": "łódź – 🚑"}] * 60, datetime.now(UTC), "ig1")
    assert body.startswith(b"%PDF") and len(body) > 2000


def test_a_checkpoint_opens_only_with_the_hub_key() -> None:
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    made = checkpoints.sign(key, 42, "ab" * 32, datetime.now(UTC))
    assert checkpoints.open_checkpoint(made.jws, key.public_key()) == (42, "ab" * 32)
    with pytest.raises(checkpoints.CheckpointError):
        checkpoints.open_checkpoint(made.jws, other.public_key())


def test_the_witness_file_round_trips(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    for seq in (1, 2):
        checkpoints.write_witness(tmp_path, checkpoints.sign(key, seq, "cd" * 32, datetime.now(UTC)))
    tokens = checkpoints.read_witnesses(tmp_path)
    assert [checkpoints.open_checkpoint(t, key.public_key())[0] for t in tokens] == [1, 2]
    (tmp_path / checkpoints.WITNESS_FILE).write_text("not json\n")
    with pytest.raises(checkpoints.CheckpointError):
        checkpoints.read_witnesses(tmp_path)


def test_a_data_dir_overrides_the_bundled_config_key_by_key(tmp_path: Path) -> None:
    (tmp_path / "ig.yaml").write_text("break_glass_review_days: 1\nalerts:\n  out_of_hours_min_accesses: 9\n")
    config = load_ig_config(tmp_path)
    assert config.break_glass_review_days == 1 and config.alerts.out_of_hours_min_accesses == 9
    assert config.alerts.volume_max_children_per_day == load_ig_config().alerts.volume_max_children_per_day


def test_governance_records_are_valid_audit_events_too() -> None:
    from dataclasses import asdict

    from hub.audit import governance

    records = [
        governance.consent_change("u1", "RX1", "gp", "c1", "consent-9", "active", "2026.11"),
        governance.identity_link("steward", "HUB", "c1", "c2", "same NHS number"),
        governance.identity_link("steward", "HUB", "c1", "c2", "wrong link", linked=False),
        governance.policy_change("admin", "ICB1", "2026.10", "2026.11", "ab" * 8),
        governance.break_glass("u1", "RX1", "gp", "direct-care", "c1", "emergency", [], "2026.11", "10.0.0.1"),
        governance.denial("u1", "RX1", "teacher", "direct-care", "timeline", "c1", "10.0.0.1", "no relationship"),
    ]
    for seq, record in enumerate(records, start=1):
        fields = asdict(record)
        item = {
            "seq": seq,
            "recordedAt": "2026-11-22T08:00:00+00:00",
            "action": fields["action"],
            "outcome": fields["outcome"],
            "user": fields["user_id"],
            "organisation": fields["organisation"],
            "role": fields["role"],
            "purpose": fields["purpose"],
            "childId": fields["child_id"],
            "query": fields["query"],
            "entries": fields["entries"],
            "clientAddress": fields["client_address"],
            "policyVersion": fields["policy_version"],
            "reason": fields["reason"],
            "legitimateRelationship": fields["legitimate_relationship"],
            "detail": fields["detail"],
        }
        AuditEvent.model_validate(audit_event(item))
