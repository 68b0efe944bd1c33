"""`onestory up --education-drop DIR`: a nightly export dropped into the folder is taken in and moved to done/.

A bad file is moved to failed/ with a report and kept in dead letter; nothing vanishes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.connectors_helpers import (
    count_events,
    deadletter_rows,
    engine_for,
    wait_for,
    wait_for_deadletters,
)
from tests.support.hub_process import RunningHub, start_hub

pytestmark = pytest.mark.integration
UPN = "B801200005001"


@pytest.fixture
def hub_with_drop(tmp_path: Path, sqlite_url: str) -> Iterator[tuple[RunningHub, Path]]:
    drop = tmp_path / "drop"
    drop.mkdir()
    hub = start_hub(tmp_path / "var", sqlite_url, extra=["--education-drop", str(drop)])
    try:
        yield hub, drop
    finally:
        if hub.process.poll() is None:
            hub.stop()


def test_dropped_exports_are_taken_and_moved(hub_with_drop: tuple[RunningHub, Path], sqlite_url: str) -> None:
    hub, drop = hub_with_drop
    export = (
        f"UPN,Type,StartDate,Sessions,Reason\r\n{UPN},suspension,03/11/2025,4,PA\r\n{UPN},sideways,04/11/2025,2,PA\r\n"
    ).encode()
    (drop / "100001_exclusions_20251107.csv").write_bytes(export)
    (drop / "nightly.csv").write_bytes(b"UPN\r\n")

    done = wait_for(lambda: sorted((drop / "done").glob("*.report.json")) or None, 30, "the export in done/")
    report = json.loads(done[0].read_text())
    assert report["status"] == 200 and report["accepted_events"] == 1
    assert report["issues"] == [
        {"location": "row 3, column Type", "reason": "type must be suspension or permanent", "severity": "error"}
    ]
    assert [p.name for p in (drop / "done").iterdir() if not p.name.endswith(".json")][0].endswith(
        "_100001_exclusions_20251107.csv"
    )

    failed = wait_for(lambda: sorted((drop / "failed").glob("*.report.json")) or None, 30, "the bad file in failed/")
    assert "file name" in json.loads(failed[0].read_text())["issues"][0]["location"]
    assert not (drop / "100001_exclusions_20251107.csv").exists() and not (drop / "nightly.csv").exists()

    engine = engine_for(sqlite_url)
    rows = wait_for_deadletters(engine, 2)
    assert {r.connector for r in rows} == {"education"}
    events = wait_for(lambda: count_events(engine) or None, 30, "the suspension in the archive")
    # The replayed export creates nothing new: drop the same file again.
    (drop / "100001_exclusions_20251107.csv").write_bytes(export)
    wait_for(lambda: len(list((drop / "done").glob("*.report.json"))) == 2 or None, 30, "the second drop taken")
    second = json.loads(sorted((drop / "done").glob("*.report.json"))[-1].read_text())
    assert second["accepted_events"] == 1
    assert len(deadletter_rows(engine)) == 2  # the same bad row is the same dead letter
    time.sleep(2.0)
    assert count_events(engine) == events
    engine.dispose()
