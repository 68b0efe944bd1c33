"""An access record's entry list encoded once (EncodedEntries) hashes exactly as the same plain list does."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime

from hub.audit.log import GENESIS, AuditRecord, EncodedEntries, canonical, canonical_json, record_hash

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ENTRIES = [{"id": f"e-{i}", "level": "full" if i % 3 else "flag"} for i in range(500)] + [{"level": "x", "id": "ü"}]


def _hashed(entries: list[dict[str, str]]) -> str:
    record = AuditRecord("read", "success", "u1", "A81001", "gp", "direct-care", child_id="c1", entries=entries)
    return canonical_json(**asdict(record) | {"entries": entries}, recorded_at=AT.isoformat())


def test_encoded_entries_hash_as_the_plain_list() -> None:
    plain = _hashed(list(ENTRIES))
    assert _hashed(EncodedEntries(ENTRIES)) == plain
    record = AuditRecord("read", "success", "u1", "A81001", "gp", "direct-care", child_id="c1", entries=ENTRIES)
    assert plain == json.dumps(
        canonical({**asdict(record), "recorded_at": AT}), sort_keys=True, separators=(",", ":"), default=str
    )
    assert record_hash(GENESIS, canonical({**asdict(record), "recorded_at": AT}))


def test_a_changed_list_is_encoded_again() -> None:
    shared = EncodedEntries(ENTRIES[:3])
    shared.append({"id": "late", "level": "summary"})
    assert _hashed(shared) == _hashed([*ENTRIES[:3], {"id": "late", "level": "summary"}])
