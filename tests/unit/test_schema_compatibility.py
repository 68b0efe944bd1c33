"""Every released envelope version stays readable: the current schema must read data written by each snapshot.

A schema change that is not snapshotted fails here, so the history (which the codec uses to decode old
events) can never silently fall behind the schema producers write with.
"""

from __future__ import annotations

import json
from pathlib import Path

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from hub.events.codec import default_schema_dir, expanded_schema

HISTORY = default_schema_dir() / "history"
SNAPSHOTS = sorted(HISTORY.glob("onestory.Envelope.v*.avsc"), key=lambda p: int(p.stem.rsplit(".v", 1)[1]))
HOW_TO_SNAPSHOT = (
    "the envelope schema changed without a snapshot: write it with\n"
    '  .venv/bin/python -c "import json; from hub.events.codec import expanded_schema, default_schema_dir; '
    'print(json.dumps(expanded_schema(default_schema_dir()), indent=2))" '
    "> schemas/avro/history/onestory.Envelope.vN.avsc\n"
    "(N = the next version number), and keep the change backward compatible"
)


def _avro(schema: dict[str, object]) -> avro.schema.Schema:
    return avro.schema.parse(json.dumps(schema))


def test_there_is_at_least_one_snapshot() -> None:
    assert SNAPSHOTS, "schemas/avro/history holds no envelope snapshot"


@pytest.mark.parametrize("snapshot", SNAPSHOTS, ids=lambda p: p.name)
def test_current_schema_reads_every_released_version(snapshot: Path) -> None:
    reader = _avro(expanded_schema(default_schema_dir()))
    writer = _avro(json.loads(snapshot.read_text()))
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
    assert result.compatibility is SchemaCompatibilityType.compatible, (
        f"current envelope cannot read data written with {snapshot.name}: {result.messages} at {result.locations}"
    )


def test_current_schema_is_the_newest_snapshot() -> None:
    current = expanded_schema(default_schema_dir())
    newest = json.loads(SNAPSHOTS[-1].read_text())
    assert current == newest, HOW_TO_SNAPSHOT


def test_each_snapshot_reads_the_one_before() -> None:
    """Released versions were each compatible with their predecessor when they shipped."""
    for older, newer in zip(SNAPSHOTS, SNAPSHOTS[1:], strict=False):
        result = ReaderWriterCompatibilityChecker().get_compatibility(
            _avro(json.loads(newer.read_text())), _avro(json.loads(older.read_text()))
        )
        assert result.compatibility is SchemaCompatibilityType.compatible, (newer.name, older.name, result.messages)
