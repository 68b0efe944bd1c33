"""`onestory bench connectors`: each connector's rate on a synthetic region in the agencies' own formats."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

from hub.bench.connectors import run, write_region, write_report
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
def connectors(children: int, seed: int, years: int, out: Path | None) -> None:
    """Parse + map + Avro-encode a synthetic region's HL7 v2, FHIR, school CSV, social-care, VCSE and
    self-referral files through the real connectors, per source, beside Avro encoding alone."""
    progress = Progress("request")
    with tempfile.TemporaryDirectory(prefix="onestory-bench-connectors-") as tmp:
        progress.say(f"writing a synthetic region of {children} children ({years} year(s), seed {seed})")
        root = write_region(children, seed, years, Path(tmp))
        results = run(root, progress.say, progress.bar)
        results["config"] = {"children": children, "seed": seed, "years": years}
    progress.say("done")
    click.echo(json.dumps(results, indent=2, default=str))
    if out is not None:
        command = f"onestory bench connectors --children {children} --seed {seed} --years {years}"
        click.echo(f"report: {write_report(results, out, command)}", err=True)
