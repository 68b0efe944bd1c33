"""Benchmark reports: JSON for machines, Markdown with plots for people, in docs/benchmarks/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _plot(results: dict[str, Any], png: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    b, f = results["baselines"], results["figures"]
    labels = [
        "raw consume\n(upper bound)",
        "fastavro decode",
        "batched projector\n(practical bound)",
        "naive Faust\nper-event",
        "OneStory\nsustained",
        "OneStory\nrebuild",
    ]
    values = [
        b["raw_consume_events_per_s"],
        b["fastavro_decode_events_per_s"],
        b["batched_projector_events_per_s"],
        b["naive_faust_events_per_s"],
        f["sustained_events_per_s"],
        f["rebuild_events_per_s"],
    ]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [3, 2]})
    colours = ["#9aa5b1"] * 4 + ["#1d70b8", "#00703c"]
    ax1.bar(labels, values, color=colours)
    ax1.set_yscale("log")
    ax1.set_ylabel("events per second (log scale)")
    ax1.set_title(f"Throughput beside same-run baselines ({results['database']})")
    for i, v in enumerate(values):
        ax1.text(i, v, f"{v:,.0f}", ha="center", va="bottom", fontsize=8)
    ax1.tick_params(axis="x", labelsize=8)
    lat, cons = f["latency"], f["consent_reprojection"]
    names = [
        "event→visible p50",
        "event→visible p95",
        "event→visible p99",
        "consent→applied p50",
        "consent→applied p99",
    ]
    ms = [lat["p50_ms"], lat["p95_ms"], lat["p99_ms"], cons["p50_ms"], cons["p99_ms"]]
    ax2.barh(names, ms, color=["#1d70b8"] * 3 + ["#d4351c"] * 2)
    ax2.set_xlabel("milliseconds")
    ax2.set_title(f"Latency at {lat['offered_events_per_s']} events/s offered")
    for i, v in enumerate(ms):
        ax2.text(v, i, f" {v:,.0f}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return True


def _mib(kib: object) -> str:
    return str(int(str(kib)) // 1024) if str(kib).isdigit() else "?"


def write(results: dict[str, Any], out_dir: Path, name: str, command: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    png = out_dir / f"{name}.png"
    plotted = _plot(results, png)
    b, f, r, m = results["baselines"], results["figures"], results["ratios"], results["machine"]
    lat, cons = f["latency"], f["consent_reprojection"]
    lines = [
        f"# Pipeline benchmark ({results['database']}, {results.get('workers', 1)} worker(s): "
        f"{' | '.join(results.get('layout', ['identity,timeline,outbound']))})",
        "",
        f"Machine: {m['platform']}, {m['cpus']} CPUs, {_mib(m['memory_kib'])} MiB;"
        f" Python {m['python']}, faust {m['faust']}, fastavro {m['fastavro']}, SQLAlchemy {m['sqlalchemy']};"
        f" run at {m['at']}.",
        "",
        f"Reproduce: `{command}`",
        "",
        *([f"![throughput and latency]({png.name})", ""] if plotted else []),
        "| figure | value | ratio to baseline |",
        "|---|---|---|",
        f"| sustained intake → committed projections | {f['sustained_events_per_s']:,.0f} events/s "
        f"({f['sustained_events']:,} events) | {r['sustained_vs_batched_projector']:.2g}× batched projector, "
        f"{r['sustained_vs_naive_faust']:.2g}× naive Faust, {r['sustained_vs_raw_consume']:.2g}× raw consume |",
        f"| sustained, until outbound feeds are decided and relayed too | "
        f"{f.get('sustained_with_feeds_events_per_s', 0):,.0f} events/s | "
        f"{r.get('sustained_with_feeds_vs_batched_projector', 0):.2g}× batched projector |",
        f"| event → visible latency at {lat['offered_events_per_s']} events/s | p50 {lat['p50_ms']:.0f} ms, "
        f"p95 {lat['p95_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms ({lat['seen']}/{lat['events']} seen) | |",
        f"| full rebuild ({f.get('rebuild_processes', 1)} process(es)) | {f['rebuild_events_per_s']:,.0f} events/s "
        f"({f['rebuild_events']:,} events) | "
        f"{r['rebuild_vs_batched_projector']:.2g}× batched projector |",
        f"| consent change → re-projected, child with {cons['child_events']} events | p50 {cons['p50_ms']:.0f} ms, "
        f"p99 {cons['p99_ms']:.0f} ms ({cons['changes']} changes) | |",
        f"| peak memory | largest worker {f['worker_peak_rss_mib']:.0f} MiB, bench process "
        f"{f['bench_process_peak_rss_mib']:.0f} MiB | |",
        "",
        "| baseline (same run) | events/s |",
        "|---|---|",
        f"| raw broker consume, confluent-kafka (upper bound) | {b['raw_consume_events_per_s']:,.0f} |",
        f"| fastavro decode (Python bound) | {b['fastavro_decode_events_per_s']:,.0f} |",
        f"| batched confluent-kafka consumer: decode + rows + tracked offsets (practical bound) | "
        f"{b['batched_projector_events_per_s']:,.0f} |",
        f"| naive per-event Faust agent, one SQL row per event | {b['naive_faust_events_per_s']:,.0f} |",
        "",
    ]
    md = out_dir / f"{name}.md"
    md.write_text("\n".join(lines))
    return md
