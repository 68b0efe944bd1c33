"""The canonical form and hash: stable across storage round-trips and compatible with the skeleton's records."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from consent_engine import Relationship, Viewer
from hub.audit.log import GENESIS, AuditRecord, as_utc, canonical, canonical_json, record_hash
from hub.audit.relationship import has_relationship

AT = datetime(2026, 11, 22, 9, 30, 0, 123456, tzinfo=UTC)


def _record(**kw: Any) -> AuditRecord:
    return AuditRecord(
        action="read",
        outcome="success",
        user_id="u1",
        organisation="RX1",
        role="gp",
        purpose="direct-care",
        child_id="c1",
        query="timeline",
        entries=[{"level": "full", "id": "e1"}],
        client_address="127.0.0.1",
        **kw,
    )


def test_a_record_without_the_new_fields_hashes_as_the_skeleton_hashed_it() -> None:
    record = _record()
    skeleton_row = {**asdict(record), "recorded_at": AT.isoformat()}
    for name in ("policy_version", "reason", "legitimate_relationship", "detail"):
        skeleton_row.pop(name)
    skeleton = hashlib.sha256(
        (GENESIS + json.dumps(skeleton_row, sort_keys=True, separators=(",", ":"), default=str)).encode()
    ).hexdigest()
    assert record_hash(GENESIS, canonical({**asdict(record), "recorded_at": AT})) == skeleton


def test_naive_utc_and_other_offsets_hash_the_same_instant_the_same() -> None:
    fields = asdict(_record(policy_version="v1"))
    aware = canonical({**fields, "recorded_at": AT})
    naive = canonical({**fields, "recorded_at": AT.replace(tzinfo=None)})  # what SQLite hands back
    shifted = canonical({**fields, "recorded_at": AT.astimezone(timezone(timedelta(hours=1)))})  # a PG session zone
    assert aware == naive == shifted
    assert as_utc(AT.replace(tzinfo=None)) == AT


def test_every_optional_field_is_covered_once_set() -> None:
    base = asdict(_record())
    digests = {record_hash(GENESIS, canonical({**base, "recorded_at": AT}))}
    for change in (
        {"policy_version": "v2"},
        {"reason": "urgent"},
        {"legitimate_relationship": False},
        {"legitimate_relationship": True},
        {"detail": {"consentId": "c-9"}},
    ):
        digests.add(record_hash(GENESIS, canonical({**base, **change, "recorded_at": AT})))
    assert len(digests) == 6


def test_the_hash_commits_to_the_previous_one() -> None:
    row = canonical({**asdict(_record()), "recorded_at": AT})
    assert record_hash(GENESIS, row) != record_hash("1" * 64, row)


def test_a_legitimate_relationship_is_matched_as_the_consent_engine_matches_it() -> None:
    gp = Viewer(user_id="u1", organisation="RX1", role="gp", purpose="direct-care")
    now = AT
    ongoing = Relationship(organisation="RX1", start=now - timedelta(days=30))
    ended = Relationship(organisation="RX1", start=now - timedelta(days=30), end=now)
    other_role = Relationship(organisation="RX1", start=now - timedelta(days=1), role="camhs-clinician")
    other_child = Relationship(organisation="RX1", start=now - timedelta(days=1), child_id="c2")
    assert has_relationship([ongoing], gp, "c1", now)
    assert not has_relationship([ended, other_role, other_child], gp, "c1", now)
    assert not has_relationship([], gp, "c1", now)


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"child_id": None, "query": None, "client_address": None, "entries": []},
        {"user_id": 'quote " back\\slash ünïcødé 🚑', "reason": "line\nbreak\ttab"},
        {"policy_version": "v1", "legitimate_relationship": False, "detail": {"b": [1, 2.5], "a": None, "é": "x"}},
        {"legitimate_relationship": True, "entries": [{"level": "flag", "id": "z"}, {"id": "a", "x": 1}]},
        {"detail": {"when": AT}},  # default=str for anything JSON cannot say
    ],
)
def test_the_fast_canonical_json_is_exactly_the_reference_encoding(change: dict[str, Any]) -> None:
    fields = {**asdict(_record()), **change}
    reference = json.dumps(canonical({**fields, "recorded_at": AT}), sort_keys=True, separators=(",", ":"), default=str)
    fast = canonical_json(**{**fields, "recorded_at": as_utc(AT).isoformat()})
    assert fast == reference
