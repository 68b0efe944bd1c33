"""`onestory bench read` on a tiny run: the JSON it prints and the report it writes have the promised shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
PHASES = {"healthz", "timeline_1_client", "timeline", "everything_1_client", "everything"}


def test_bench_read_quick_prints_figures_and_writes_a_report(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hub", "bench", "read", "--quick", "--entries", "30", "--clients", "4"]
        + ["--requests", "12", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert set(result["phases"]) == PHASES
    for name, phase in result["phases"].items():
        assert phase["errors"] == 0, name
        assert phase["requests"] > 0 and (phase["requests"] == 12 or "1_client" in name), name
        assert 0 < phase["p50_ms"] <= phase["p95_ms"] <= phase["p99_ms"] <= phase["max_ms"]
        assert phase["requests_per_s"] > 0 and phase["api_cpu_ms_per_request"] >= 0
    assert result["phases"]["timeline"]["clients"] == 4 and result["phases"]["timeline_1_client"]["clients"] == 1
    assert result["child"]["timeline_rows"] == 30 and result["child"]["entries_shown_to_viewer"] > 0
    assert result["audit"]["one_per_read"] and result["audit"]["reads"] > 0  # every read audited
    assert set(result["ratios"]) >= {"timeline_p99_vs_healthz_p99", "timeline_p50_vs_1_client_p50"}
    assert result["machine"]["cpus"] and result["machine"]["python"]
    assert "samples_ms" not in result
    assert json.loads((tmp_path / "read-quick-sqlite.json").read_text())["phases"].keys() == PHASES
    md = (tmp_path / "read-quick-sqlite.md").read_text()
    assert "| timeline |" in md and "onestory bench read --quick" in md
    assert (tmp_path / "read-quick-sqlite.png").stat().st_size > 1000
