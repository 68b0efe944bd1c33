"""The benchmark's pure parts: the workload is deterministic and encodable, percentiles and reports are right."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from hub.bench import report
from hub.bench.pipeline import _percentile
from hub.bench.workload import intake_records
from hub.events.codec import EventCodec


def test_workload_is_deterministic_by_seed_and_decodes() -> None:
    codec = EventCodec.load()
    a = [r.event_id for r in intake_records(codec, 5, 20, seed=3)]
    b = [r.event_id for r in intake_records(codec, 5, 20, seed=3)]
    c = [r.event_id for r in intake_records(codec, 5, 20, seed=4)]
    assert a == b and a != c and len(set(a)) == 100
    kinds = Counter(codec.decode(r.value)["kind"] for r in intake_records(codec, 5, 20, seed=3))
    assert kinds["attendance.summary"] == 5 * 11 and kinds["consent.given"] == 5 and kinds["thrive.agreed"] == 5


def test_percentile_picks_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert _percentile(values, 50) == 51.0  # nearest rank: index round(0.5 * 99) = 50
    assert _percentile(values, 99) == 99.0
    assert _percentile([5.0], 99) == 5.0


def test_report_writes_json_markdown_and_plot(tmp_path: Path) -> None:
    results = {
        "database": "sqlite",
        "machine": {
            "platform": "Linux",
            "cpus": 2,
            "memory_kib": "2048000",
            "python": "3.11",
            "faust": "0.15",
            "fastavro": "1.13",
            "sqlalchemy": "2.1",
            "at": "now",
        },
        "baselines": {
            "raw_consume_events_per_s": 800000.0,
            "fastavro_decode_events_per_s": 90000.0,
            "batched_projector_events_per_s": 50000.0,
            "naive_faust_events_per_s": 900.0,
        },
        "figures": {
            "sustained_events_per_s": 5000.0,
            "sustained_events": 20000,
            "rebuild_events_per_s": 9000.0,
            "rebuild_events": 20000,
            "worker_peak_rss_mib": 180.0,
            "bench_process_peak_rss_mib": 300.0,
            "latency": {
                "offered_events_per_s": 1000,
                "events": 5000,
                "seen": 5000,
                "p50_ms": 120.0,
                "p95_ms": 300.0,
                "p99_ms": 450.0,
            },
            "consent_reprojection": {
                "child_events": 1000,
                "changes": 10,
                "p50_ms": 80.0,
                "p99_ms": 150.0,
                "max_ms": 160.0,
            },
        },
        "ratios": {
            "sustained_vs_batched_projector": 0.1,
            "sustained_vs_naive_faust": 5.56,
            "sustained_vs_raw_consume": 0.00625,
            "rebuild_vs_batched_projector": 0.18,
        },
    }
    md = report.write(results, tmp_path, "pipeline-test", "onestory bench pipeline --quick")
    text = md.read_text()
    assert (
        "5,000 events/s" in text
        and "5.6× naive Faust" in text
        and "0.0063× raw consume" in text
        and "p99 450 ms" in text
    )
    assert (tmp_path / "pipeline-test.json").exists() and (tmp_path / "pipeline-test.png").stat().st_size > 1000
