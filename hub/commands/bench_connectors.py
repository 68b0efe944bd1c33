"""`onestory bench connectors`: each connector's rate on a synthetic region in the agencies' own formats."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

from hub.bench.connectors import run, write_region, write_report
from hub.bench.intake import run_intake
from hub.bench.progress import Progress


@click.command()
@click.option("--children", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--years", type=click.IntRange(1), default=1, show_default=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write connectors.json, .md and .png here (e.g. docs/benchmarks).",
)
@click.option(
    "--intake-messages",
    type=click.IntRange(0),
    default=2000,
    show_default=True,
    help="Also send this many ADT^A01 over MLLP (and a quarter as many FHIR Patients over HTTP) to a running "
    "hub, with the intake journal off and then on (0: skip).",
)
@click.option("--senders", type=click.IntRange(1), default=4, show_default=True, help="Concurrent senders.")
def connectors(
    children: int, seed: int, years: int, out: Path | None, intake_messages: int = 2000, senders: int = 4
) -> None:
    """Parse + map + Avro-encode a synthetic region's HL7 v2, FHIR, school CSV, social-care, VCSE and
    self-referral files through the real connectors, per source, beside Avro encoding alone; then MLLP and
    HTTP intake rates on a running hub with the intake journal off (the baseline) and on."""
    progress = Progress("request")
    with tempfile.TemporaryDirectory(prefix="onestory-bench-connectors-") as tmp:
        progress.say(f"writing a synthetic region of {children} children ({years} year(s), seed {seed})")
        root = write_region(children, seed, years, Path(tmp))
        results = run(root, progress.say, progress.bar)
        results["config"] = {"children": children, "seed": seed, "years": years}
    hl7 = results.get("hl7v2")
    if hl7:
        progress.say(
            f"hl7v2: {hl7['messages_per_cpu_s']:,.0f} messages per CPU-second, {hl7['ratios']['to_in_full']:.1f}× "
            f"hl7apy in full ({hl7['in_full']['messages_per_cpu_s']:,.0f}) in the same run; same events: "
            f"{'yes' if hl7['same_events'] else 'NO'}"
        )
    if intake_messages:
        results["intake"] = run_intake(intake_messages, senders, progress.say)
    progress.say("done")
    click.echo(json.dumps(results, indent=2, default=str))
    if out is not None:
        command = (
            f"onestory bench connectors --children {children} --seed {seed} --years {years} "
            f"--intake-messages {intake_messages} --senders {senders}"
        )
        click.echo(f"report: {write_report(results, out, command)}", err=True)
