"""`onestory bench connectors`: how fast each connector turns a synthetic region's source files into
canonical Avro events, beside the cost of encoding those same events alone, measured in the same run.

The region comes from `onestory synth` (hub/synth), written in each agency's own format; every request goes
through the connector's own pure parse → map (connectors.registry, the code the MLLP listener and the HTTP
routes run) and each event is Avro-encoded as the publisher would. Publishing is left out: the pipeline
bench measures the broker. Rejections are counted, not timed apart: they are part of a connector's work.

HL7 v2 is also reported per message, beside its same-run baselines: the same messages through the path
before issue 20 (hl7apy's element tree built for every message, `parse(raw, remembered=False)`), the
education connector and Avro encoding alone. Its remembered structural check starts cold.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.batch import Batch
from connectors.errors import ConnectorError
from connectors.hl7v2 import structure
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
    results: dict[str, Any] = {"machine": machine_info(), "sources": {}, "load_average": [os.getloadavg()[0]]}
    encoded: list[dict[str, Any]] = []
    for source, todo in sorted(by_source.items()):
        say(f"{source}: {len(todo)} request(s)")
        tick = bar(source, len(todo))
        produce = intakes[CONNECTOR[source]]
        if source == "hl7v2":
            structure.forget()  # start cold: the first message of each shape is checked by hl7apy in full
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
    if "hl7v2" in by_source:
        results["hl7v2"] = _hl7_beside_in_full(by_source["hl7v2"], codec, now, results["sources"]["hl7v2"], say)
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
    if "hl7v2" in results:
        hl7 = results["hl7v2"]
        education = results["sources"].get("education", {}).get("events_per_cpu_s", 0.0)
        hl7["ratios"] = {
            "to_in_full": hl7["messages_per_cpu_s"] / hl7["in_full"]["messages_per_cpu_s"],
            "warm_to_in_full": hl7["warm"]["messages_per_cpu_s"] / hl7["in_full"]["messages_per_cpu_s"],
            "warm_to_avro_encode": hl7["warm"]["messages_per_cpu_s"] / base if base else None,
            "to_education_events": hl7["messages_per_cpu_s"] / education if education else None,
            "to_avro_encode": hl7["messages_per_cpu_s"] / base if base else None,
        }
    results["load_average"].append(os.getloadavg()[0])
    return results


def _hl7_beside_in_full(
    todo: list[Request], codec: EventCodec, now: datetime, fast: dict[str, Any], say: Callable[[str], None]
) -> dict[str, Any]:
    """The HL7 v2 messages again through hl7apy in full (the path before issue 20), in this run, as its baseline;
    the two paths must give the same events."""
    from connectors.hl7v2.map import Hl7Mapping, map_message
    from connectors.hl7v2.parse import parse
    from connectors.hl7v2.senders import sender
    from connectors.registry import replayers
    from hub.directory_file import bundled_directory

    from_memory, by_segment, in_full_checks = structure.answered()
    shapes, compositions = structure.remembered()
    directory, mapping = bundled_directory(), Hl7Mapping.bundled()

    def in_full(body: bytes) -> Batch:
        message = parse(body, remembered=False)
        org = sender(message.header, directory)
        return Batch(events=map_message(message, mapping, now, organisation=org.code, organisation_type=org.type))

    def event_ids(produce: Callable[[bytes], Batch]) -> list[str]:
        ids = []
        for request in todo:
            try:
                ids += [str(e["event_id"]) for e in produce(request.body).events]
            except ConnectorError as exc:
                ids.append(f"refused: {exc.reason}")
        return ids

    say(f"hl7v2 baseline: the same {len(todo)} messages through hl7apy in full (before issue 20)")
    t0 = time.process_time()
    for request in todo:
        try:
            for envelope in in_full(request.body).events:
                codec.encode(dict(envelope))
        except ConnectorError:
            continue
    cpu = time.process_time() - t0
    remembered_path = replayers(directory)["hl7v2"]
    say(f"hl7v2 steady state: the same {len(todo)} messages again, every shape now remembered")
    t0 = time.process_time()
    for request in todo:
        try:
            for envelope in remembered_path(request.body, request.content_type, now).events:
                codec.encode(dict(envelope))
        except ConnectorError:
            continue
    warm = time.process_time() - t0
    same = event_ids(in_full) == event_ids(lambda body: remembered_path(body, "", now))
    return {
        "messages": len(todo),
        "events": fast["events"],
        "cpu_s": fast["cpu_s"],
        "messages_per_cpu_s": len(todo) / fast["cpu_s"] if fast["cpu_s"] > 0 else 0.0,
        "answered_from_memory": from_memory,
        "new_segments_parsed": by_segment,
        "checked_in_full": in_full_checks,
        "segment_shapes": shapes,
        "message_shapes": compositions,
        "in_full": {"cpu_s": cpu, "messages_per_cpu_s": len(todo) / cpu if cpu > 0 else 0.0},
        "warm": {"cpu_s": warm, "messages_per_cpu_s": len(todo) / warm if warm > 0 else 0.0},
        "same_events": same,
    }


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
        "process (parse + map + Avro encode; publishing excluded)." + _load_note(results.get("load_average")),
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
    lines += _hl7_lines(results.get("hl7v2"), results["sources"].get("education"), base)
    lines += _intake_lines(results.get("intake"))
    md = out / "connectors.md"
    md.write_text("\n".join(lines))
    return md


def _load_note(load: list[float] | None) -> str:
    """Other processes on the machine inflate CPU time too (shared caches and cores): say how busy it was."""
    if not load:
        return ""
    return (
        f" One-minute load average {load[0]:.1f} at the start and {load[-1]:.1f} at the end of the connector runs"
        " on these cores: compare figures with the baselines of this run."
    )


def _hl7_lines(hl7: dict[str, Any] | None, education: dict[str, Any] | None, base: float) -> list[str]:
    """HL7 v2 per message beside the path before issue 20, the education connector and Avro encode (same run)."""
    if not hl7:
        return []
    full, r = hl7["in_full"], hl7["ratios"]
    rows = [
        ("HL7 v2, structural check remembered by shape, from cold (now)", hl7["messages_per_cpu_s"], hl7["cpu_s"]),
        ("… the same messages again, every shape remembered", hl7["warm"]["messages_per_cpu_s"], hl7["warm"]["cpu_s"]),
        ("HL7 v2, hl7apy in full for every message (before)", full["messages_per_cpu_s"], full["cpu_s"]),
    ]
    lines = [
        "## HL7 v2 per message: parse + map + encode",
        "",
        f"{hl7['messages']:,} messages, one process, CPU time; the memory of hl7apy's verdicts starts empty.",
        "",
        "| path | messages per CPU-second | CPU s |",
        "|---|---|---|",
        *(f"| {name} | {rate:,.0f} | {cpu:.2f} |" for name, rate, cpu in rows),
    ]
    if education:
        lines.append(
            f"| education connector (baseline, events) | {education['events_per_cpu_s']:,.0f} | "
            f"{education['cpu_s']:.2f} |"
        )
    lines += [
        f"| Avro encode alone (baseline, events) | {base:,.0f} | |",
        "",
        f"Same run: from cold {r['to_in_full']:.1f}× the path before, with every shape remembered "
        f"{r['warm_to_in_full']:.1f}×"
        + (f", {r['to_education_events']:.2f}× the education connector" if r.get("to_education_events") else "")
        + (f", {r['to_avro_encode']:.3f}× Avro encode alone" if r.get("to_avro_encode") else "")
        + ". Structural checks answered from memory: "
        f"{hl7['answered_from_memory']:,}; by hl7apy parsing only segments of new shapes: "
        f"{hl7['new_segments_parsed']:,}; by hl7apy in full: {hl7['checked_in_full']:,} "
        f"({hl7['segment_shapes']:,} segment shapes, {hl7['message_shapes']:,} message shapes remembered). "
        f"Both paths give the same events: {'yes' if hl7['same_events'] else 'NO'}.",
        "",
    ]
    return lines


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
    colours = ["#1d70b8"] * len(names)
    hl7 = results.get("hl7v2")
    if hl7 and hl7["in_full"]["cpu_s"] > 0:
        names.append("hl7v2 before (hl7apy in full)")
        rates.append(hl7["events"] / hl7["in_full"]["cpu_s"])
        colours.append("#505a5f")
    fig, axes = plt.subplots(1, 2 if intake else 1, figsize=(12 if intake else 8, 3.6), squeeze=False)
    ax = axes[0][0]
    ax.barh(names, rates, color=colours)
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
