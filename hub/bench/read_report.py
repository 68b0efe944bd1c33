"""The read benchmark's report: JSON for machines, Markdown with a latency-distribution plot for people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LABELS = {
    "healthz": "/healthz (baseline)",
    "timeline_1_client": "timeline, 1 client",
    "timeline": "timeline",
    "everything_1_client": "$everything?_count=50, 1 client",
    "everything": "$everything?_count=50",
}


def _plot(results: dict[str, Any], samples: dict[str, list[float]], png: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    clients = results["config"]["clients"]
    fig, ax = plt.subplots(figsize=(10, 4.8))
    names = [n for n in LABELS if n in samples]
    data = [samples[n] for n in names]
    ax.boxplot(data, vert=False, whis=(1, 99), showfliers=False)
    ax.set_yticks(range(1, len(names) + 1))
    ax.set_yticklabels([LABELS[n] + ("" if "1_client" in n else f", {clients} clients") for n in names], fontsize=8)
    for i, n in enumerate(names, 1):
        p = results["phases"][n]
        ax.text(p["p99_ms"], i + 0.28, f"p99 {p['p99_ms']:.0f} ms", fontsize=7)
    ax.axvline(results["aim"]["p99_ms"], color="#d4351c", linestyle="--", linewidth=1)
    ax.text(results["aim"]["p99_ms"], 0.55, f" aim: p99 {results['aim']['p99_ms']:g} ms", color="#d4351c", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("latency, ms (log scale; box = p25–p75, whiskers = p1–p99)")
    ax.set_title(
        f"Read latency, child with {results['child']['timeline_rows']} entries, audit included "
        f"({results['database']}, {results['config']['api_workers']} API worker(s))"
    )
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return True


def _aims(aim: dict[str, Any]) -> str:
    def said(which: str) -> str:
        met = aim[which]
        return ", ".join(f"{k} {'met' if ok else 'not met'}" for k, ok in met.items())

    return (
        f"Aims (issue 20), at {aim['clients']} clients: ≤ {aim['api_cpu_ms_per_read']:g} ms of API CPU per read,"
        f" ≥ {aim['reads_per_s']:g} reads/s, p99 ≤ {aim['p99_ms']:g} ms — timeline: {said('timeline')};"
        f" $everything: {said('everything')}."
    )


def write(results: dict[str, Any], samples: dict[str, list[float]], out_dir: Path, name: str, command: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    png = out_dir / f"{name}.png"
    plotted = _plot(results, samples, png)
    m, r, a, child = results["machine"], results["ratios"], results["audit"], results["child"]
    lines = [
        f"# Read benchmark ({results['database']})",
        "",
        f"Machine: {m['platform']}, {m['cpus']} CPUs (load {m['load_average_at_start'][0]} at start, shared);"
        f" Python {m['python']}, FastAPI {m['fastapi']}, uvicorn {m['uvicorn']}, SQLAlchemy {m['sqlalchemy']};"
        f" run at {m['at']}.",
        "",
        f"Reproduce: `{command}`",
        "",
        f"A child with {child['timeline_rows']} timeline entries built through identity and the projector; the"
        f" viewer (a GP, direct care) is shown {child['entries_shown_to_viewer']} ({child['levels']}). The real"
        f" `onestory api` over loopback HTTP, {results['config']['api_workers']} worker(s); closed-loop aiohttp"
        " clients in the bench process, on the same cores. Every read is decided for the viewer at that moment"
        " (from the child's rows kept while its events are unchanged: hub/read/story_cache.py) and audited"
        f" before it answers: {a['audit_records_written']} audit records for {a['reads']} reads.",
        "",
        *([f"![latency distribution]({png.name})", ""] if plotted else []),
        "| what | clients | p50 ms | p95 ms | p99 ms | req/s | API CPU ms/req | errors |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {LABELS[n]} | {p['clients']} | {p['p50_ms']:.1f} | {p['p95_ms']:.1f} | {p['p99_ms']:.1f} |"
            f" {p['requests_per_s']:,.0f} | {p['api_cpu_ms_per_request']} | {p['errors']} |"
            for n, p in results["phases"].items()
        ),
        "",
        "| ratio (same run) | value |",
        "|---|---|",
        *(f"| {k.replace('_', ' ')} | {v} |" for k, v in r.items()),
        "",
        "API CPU ms/req is the API processes' own CPU time (from /proc) per request served: it does not depend"
        " on what else the shared machine is running, unlike the latencies.",
        "",
        _aims(results["aim"]),
        "",
    ]
    md = out_dir / f"{name}.md"
    md.write_text("\n".join(lines))
    return md
