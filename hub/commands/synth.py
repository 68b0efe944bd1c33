"""`onestory synth`: a synthetic population with ground truth, written as JSON Lines.

Deterministic by seed. Issue 11 extends the same package (hub/synth) to emit events in source formats.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from hub.synth import generate_population, generate_records


@click.command()
@click.option("--children", type=click.IntRange(1), required=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--years", type=click.IntRange(1), default=1, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("var/synth"), show_default=True)
def synth(children: int, seed: int, years: int, out: Path) -> None:
    """Write children.jsonl (the truth), records.jsonl (what agencies hold, with errors) and summary.json."""
    population = generate_population(children, seed, years)
    records = generate_records(population)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "children.jsonl").open("w") as fh:
        for child in population.children:
            row = asdict(child)
            row["addresses"] = [[since.isoformat(), pc] for since, pc in child.addresses]
            fh.write(json.dumps(row, default=str) + "\n")
    with (out / "records.jsonl").open("w") as fh:
        for record in records:
            fh.write(json.dumps(record.as_json()) + "\n")
    errors: dict[str, int] = {}
    for record in records:
        for error in record.errors:
            errors[error] = errors.get(error, 0) + 1
    summary = {
        "children": len(population.children),
        "records": len(records),
        "seed": seed,
        "years": years,
        "twin_pairs": len(population.twins()),
        "errors": dict(sorted(errors.items())),
        "out": str(out),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    click.echo(json.dumps(summary))
