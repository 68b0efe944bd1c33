"""`onestory bench pipeline` end to end on a tiny region: every figure and baseline is measured for real
(embedded broker, real worker processes, SQLite) and the report is written. Speed is not asserted here."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.bench import report
from hub.bench.pipeline import PipelineConfig, run

pytestmark = pytest.mark.integration


def test_a_tiny_run_with_two_split_workers_measures_every_figure(tmp_path: Path) -> None:
    """Two workers, each as two processes: identity and projection in one, outbound feeds in the other (their
    own consumer group, waiting for the projector's tracking), so the run drains only if that step works."""
    cfg = PipelineConfig(
        children=20,
        per_child=20,
        seed=5,
        database=f"sqlite:///{tmp_path / 'bench.db'}",
        workdir=tmp_path,
        latency_rate=100,
        latency_seconds=1.0,
        withdrawals=2,
        withdrawal_child_events=60,
        naive_events=100,
        workers=2,
        layout=("identity,timeline", "outbound"),
    )
    said: list[str] = []
    ticks: dict[str, int] = {}

    def bar(label: str, _total: int):  # type: ignore[no-untyped-def]
        return lambda n: ticks.__setitem__(label, n)

    results = run(cfg, said.append, bar)

    b, f, r = results["baselines"], results["figures"], results["ratios"]
    assert results["workers"] == 2 and results["database"] == "sqlite"
    assert results["layout"] == ["identity,timeline", "outbound"]
    for name in (
        "raw_consume_events_per_s",
        "fastavro_decode_events_per_s",
        "batched_projector_events_per_s",
        "naive_faust_events_per_s",
    ):
        assert b[name] > 0, name
    assert f["sustained_events"] == 400 and f["sustained_events_per_s"] >= f["sustained_with_feeds_events_per_s"] > 0
    assert f["latency"]["seen"] == f["latency"]["events"] == 100
    assert 0 <= f["latency"]["p50_ms"] <= f["latency"]["p99_ms"]
    assert f["consent_reprojection"]["changes"] == 2 and f["consent_reprojection"]["p99_ms"] > 0
    # everything sent reached the event store, and the rebuild re-derived all of it
    assert f["rebuild_events"] == 400 + 100 + 60 + 2
    assert f["rebuild_events_per_s"] > 0 and f["worker_peak_rss_mib"] > 0
    assert set(r) == {
        "sustained_vs_batched_projector",
        "sustained_with_feeds_vs_batched_projector",
        "sustained_vs_naive_faust",
        "sustained_vs_raw_consume",
        "rebuild_vs_batched_projector",
    }
    assert ticks["sustained"] >= 400 and any("2 real worker(s) as 4 process(es)" in line for line in said)

    md = report.write(results, tmp_path / "out", "pipeline-test", "onestory bench pipeline --test")
    text = md.read_text()
    assert "2 worker(s): identity,timeline | outbound" in text and (tmp_path / "out" / "pipeline-test.png").exists()
