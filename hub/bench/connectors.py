"""`onestory bench connectors`: how fast each connector turns a synthetic region's source files into
canonical Avro events, beside the cost of encoding those same events alone, measured in the same run.

The region comes from `onestory synth` (hub/synth), written in each agency's own format; every request goes
through the connector's own pure parse → map (connectors.registry, the code the MLLP listener and the HTTP
routes run) and each event is Avro-encoded as the publisher would. Publishing is left out: the pipeline
bench measures the broker. Rejections are counted, not timed apart: they are part of a connector's work.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.errors import ConnectorError
from hub.bench.pipeline import machine_info
from hub.events.codec import EventCodec
from hub.synth import generate_population, generate_records
from hub.synth import sources as synth_sources
from hub.synth.reference import Reference
from hub.synth.replay import CONNECTOR, Request, requests


def write_region(children: int, seed: int, years: int, workdir: Path) -> Path:
    reference = Reference.bundled()
    population = generate_population(children, seed, years, reference=reference)
    records = generate_records(population, reference=reference)
    synth_sources.write(synth_sources.build(population, records, seed, reference=reference), population, seed, workdir)
    return workdir / "sources"


def run(root: Path, say: Callable[[str], None], bar: Callable[[str, int], Callable[[int], None]]) -> dict[str, Any]:
    from connectors.registry import replayers  # imports every connector's mapping: keep the module light
    from hub.directory_file import bundled_directory

    intakes = replayers(bundled_directory())  # the synthetic region's senders are in the bundled directory

    codec = EventCodec.load()
    now = datetime.now(UTC)
    by_source: dict[str, list[Request]] = {}
    for request in requests(root):
        by_source.setdefault(request.source, []).append(request)
    results: dict[str, Any] = {"machine": machine_info(), "sources": {}}
    encoded: list[dict[str, Any]] = []
    for source, todo in sorted(by_source.items()):
        say(f"{source}: {len(todo)} request(s)")
        tick = bar(source, len(todo))
        produce = intakes[CONNECTOR[source]]
        events, refused, kinds = 0, 0, Counter[str]()
        t0 = time.process_time()
        for i, request in enumerate(todo, 1):
            try:
                batch = produce(request.body, request.content_type, now)
            except ConnectorError:
                refused += 1
                continue
            refused += len(batch.errors)
            for envelope in batch.events:
                event = dict(envelope)  # as the publisher encodes it
                codec.encode(event)
                kinds[str(event["kind"])] += 1
                encoded.append(event)
            events += len(batch.events)
            if i % 200 == 0:
                tick(i)
        cpu = time.process_time() - t0
        tick(len(todo))
        results["sources"][source] = {
            "requests": len(todo),
            "events": events,
            "refused_items": refused,
            "bytes": sum(len(r.body) for r in todo),
            "cpu_s": cpu,
            "events_per_cpu_s": events / cpu if cpu > 0 else 0.0,
            "top_kinds": dict(kinds.most_common(3)),
        }
    say(f"baseline: Avro-encoding the same {len(encoded)} events alone")
    t0 = time.process_time()
    for done in encoded:
        codec.encode(done)
    encode_cpu = time.process_time() - t0
    total_events = sum(s["events"] for s in results["sources"].values())
    total_cpu = sum(s["cpu_s"] for s in results["sources"].values())
    results["baseline"] = {"avro_encode_events_per_cpu_s": len(encoded) / encode_cpu if encode_cpu > 0 else 0.0}
    results["total"] = {
        "events": total_events,
        "cpu_s": total_cpu,
        "events_per_cpu_s": total_events / total_cpu if total_cpu > 0 else 0.0,
    }
    base = results["baseline"]["avro_encode_events_per_cpu_s"]
    results["ratios"] = {s: v["events_per_cpu_s"] / base for s, v in results["sources"].items()} if base else {}
    return results


def write_report(results: dict[str, Any], out: Path, command: str) -> Path:
    import json

    out.mkdir(parents=True, exist_ok=True)
    (out / "connectors.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    png = out / "connectors.png"
    _plot(results, png)
    m = results["machine"]
    base = results["baseline"]["avro_encode_events_per_cpu_s"]
    lines = [
        "# Connector benchmark: source files → canonical Avro events",
        "",
        f"Machine: {m['platform']}, {m['cpus']} CPUs; Python {m['python']}; run at {m['at']}. CPU time of one "
        "process (parse + map + Avro encode; publishing excluded).",
        "",
        f"Reproduce: `{command}`",
        "",
        f"![events per CPU-second by connector]({png.name})",
        "",
        "| source | requests | events | refused items | events per CPU-second | ratio to Avro encode alone |",
        "|---|---|---|---|---|---|",
    ]
    for source, s in results["sources"].items():
        lines.append(
            f"| {source} | {s['requests']:,} | {s['events']:,} | {s['refused_items']:,} | "
            f"{s['events_per_cpu_s']:,.0f} | {results['ratios'].get(source, 0):.3f}× |"
        )
    t = results["total"]
    lines += [
        f"| **all** | | {t['events']:,} | | {t['events_per_cpu_s']:,.0f} | {t['events_per_cpu_s'] / base:.3f}× |",
        "",
        f"Baseline (same run): Avro-encoding the same events alone, {base:,.0f} events per CPU-second.",
        "",
    ]
    lines += _intake_lines(results.get("intake"))
    md = out / "connectors.md"
    md.write_text("\n".join(lines))
    return md


def _intake_lines(intake: dict[str, Any] | None) -> list[str]:
    """The transports on a running hub: journal off (the broker's ack, the baseline) against on (SQL commit)."""
    if not intake:
        return []
    off, on = intake["off"], intake["on"]
    lines = [
        "## Intake over the transports, intake journal off and on",
        "",
        f"`onestory up --no-demo` (embedded broker, SQLite) per mode, {intake['senders']} senders side by side, "
        "each waiting for its answer before the next message.",
        "",
        "| transport | journal off (broker ack) per s | journal on (SQL commit) per s | on / off |",
        "|---|---|---|---|",
    ]
    for transport in ("mllp", "http"):
        lines.append(
            f"| {transport} | {off[transport]['per_s']:,.0f} | {on[transport]['per_s']:,.0f} | "
            f"{intake['ratios'].get(transport, 0):.2f}× |"
        )
    journal = on.get("journal") or {}
    if journal.get("commits"):
        lines += [
            "",
            f"Group commit: {journal['committed']:,} records in {journal['commits']:,} transactions "
            f"({journal['committed'] / journal['commits']:.1f} per commit).",
        ]
    return [*lines, ""]


def _plot(results: dict[str, Any], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    intake = results.get("intake")
    names = list(results["sources"])
    rates = [results["sources"][n]["events_per_cpu_s"] for n in names]
    fig, axes = plt.subplots(1, 2 if intake else 1, figsize=(12 if intake else 8, 3.6), squeeze=False)
    ax = axes[0][0]
    ax.barh(names, rates, color="#1d70b8")
    ax.axvline(results["baseline"]["avro_encode_events_per_cpu_s"], color="#d4351c", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("events per CPU-second (log scale); dashed: Avro encode alone")
    ax.set_title("Connectors: parse + map + encode")
    if intake:
        right = axes[0][1]
        transports = ["mllp", "http"]
        ys = range(len(transports))
        off = [intake["off"][t]["per_s"] for t in transports]
        on = [intake["on"][t]["per_s"] for t in transports]
        right.barh([y + 0.2 for y in ys], off, height=0.4, color="#505a5f", label="journal off (broker ack)")
        right.barh([y - 0.2 for y in ys], on, height=0.4, color="#1d70b8", label="journal on (SQL commit)")
        right.set_yticks(list(ys), transports)
        right.set_xlabel(f"accepted inputs per second, {intake['senders']} senders")
        right.set_title("Intake over the transports")
        right.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
