"""`onestory synth`: a synthetic region with ground truth, and the same region in the agencies' own formats.

Deterministic by seed. Writes children.jsonl (the truth), records.jsonl (what agencies hold, with errors),
summary.json and sources/ (HL7 v2, FHIR, school CSV, social care and VCSE JSON, self-referral forms, and a
manifest of what the connectors should make of them: see docs/synth.md). `onestory synth send` replays a
sources/ folder into a running hub.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from hub.synth import Population, SourceRecord, generate_population, generate_records
from hub.synth.reference import Reference


@click.group(invoke_without_command=True)
@click.option("--children", type=click.IntRange(1), help="How many children (required unless a subcommand is given).")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--years", type=click.IntRange(1), default=1, show_default=True, help="Length of the window of events.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("var/synth"), show_default=True)
@click.option("--sources/--no-sources", default=True, show_default=True, help="Also write sources/ (source formats).")
@click.pass_context
def synth(ctx: click.Context, children: int | None, seed: int, years: int, out: Path, sources: bool) -> None:
    """Write children.jsonl (the truth), records.jsonl (what agencies hold, with errors), summary.json and
    sources/ (each agency's events in its own format, with manifest.json)."""
    if ctx.invoked_subcommand is not None:
        return
    if children is None:
        raise click.UsageError("--children is required")
    started = time.perf_counter()
    reference = Reference.bundled()
    population = generate_population(children, seed, years, reference=reference)
    records = generate_records(population, reference=reference)
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
    summary: dict[str, object] = {
        "children": len(population.children),
        "records": len(records),
        "seed": seed,
        "years": years,
        "twin_pairs": len(population.twins()),
        "errors": dict(sorted(errors.items())),
        "out": str(out),
    }
    if sources:
        summary["sources"] = _write_sources(population, records, seed, out, reference)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    click.echo(json.dumps(summary))
    click.echo(f"generated in {time.perf_counter() - started:.1f}s", err=True)


def _write_sources(
    population: Population, records: list[SourceRecord], seed: int, out: Path, reference: Reference
) -> dict[str, object]:
    from tqdm import tqdm

    from hub.synth import sources as synth_sources

    # tqdm(disable=None) stays quiet when stderr is not a terminal (tests, CI, pipes)
    with tqdm(total=len(population.children), unit="child", file=sys.stderr, disable=None) as bar:
        built = synth_sources.build(population, records, seed, progress=bar.update, reference=reference)
    manifest = synth_sources.write(built, population, seed, out)
    per_source = manifest["sources"]
    return {
        "items": {name: part["items"] for name, part in per_source.items()},
        "events": sum(manifest["events"].values()),
        "expected_rejections": len(manifest["expected_rejections"]),
    }


def _mllp_address(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter("give host:port, e.g. 127.0.0.1:2575", param_hint="--mllp")
    return host, int(port)


@synth.command("send")
@click.option(
    "--from",
    "source_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/synth"),
    show_default=True,
    help="The folder `onestory synth --out` wrote (its sources/ is sent).",
)
@click.option("--to", "api", help="The hub's API base URL, e.g. http://127.0.0.1:8080 (FHIR, CSV and JSON intake).")
@click.option("--mllp", help="The hub's MLLP listener as host:port (HL7 v2).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var"),
    show_default=True,
    help="The hub's data directory: its signing key issues each sender's system token.",
)
def send(source_dir: Path, api: str | None, mllp: str | None, data_dir: Path) -> None:
    """Replay a synthetic region's sources into a running hub, as each organisation's system would send them."""
    from hub.auth.tokens import issue_token, load_or_create_signing_key
    from hub.synth.replay import send as replay

    root = source_dir / "sources"
    if not (root / "manifest.json").is_file():
        raise click.UsageError(f"no sources/manifest.json under {source_dir}: run `onestory synth --out` first")
    if not api and not mllp:
        raise click.UsageError("give --to (HTTP intake), --mllp (HL7 v2) or both")
    key = load_or_create_signing_key(data_dir)
    tokens: dict[str, str] = {}

    def token_for(org: str) -> str:
        if org not in tokens:
            now = datetime.now(UTC)
            tokens[org] = issue_token(
                key,
                user=f"synth-{org}",
                organisation=org,
                role="system",
                purpose="direct-care",
                now=now,
                ttl=timedelta(hours=8),
            )
        return tokens[org]

    started = time.perf_counter()
    report = replay(root, api, _mllp_address(mllp), token_for)
    click.echo(
        json.dumps(
            {
                "sent": dict(report.sent),
                "accepted_events": dict(report.accepted),
                "refused": dict(report.refused),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )
