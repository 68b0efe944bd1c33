"""`onestory bench pipeline`: end-to-end throughput, latency, rebuild and consent figures with baselines."""

from __future__ import annotations

import json
import shlex
import tempfile
from pathlib import Path

import click

from hub.bench import report
from hub.bench.pipeline import PipelineConfig, run
from hub.bench.progress import Progress
from hub.commands.worker import step_names
from hub.settings import HubSettings
from hub.worker.hot_path import STEPS


@click.command()
@click.option("--quick", is_flag=True, help="A small run (under 3 minutes) for CI and a first look.")
@click.option(
    "--database",
    default=None,
    help="SQLAlchemy URL of an EMPTY database to use (default: a fresh SQLite file in a temp dir).",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 6),
    default=1,
    show_default=True,
    help="Worker processes sharing the consumer groups (scale-out; at most the partition count).",
)
@click.option(
    "--layout",
    default="identity,timeline,outbound",
    show_default=True,
    help="Each worker's processes and their hot-path steps: ';' between processes, ',' between steps "
    "(e.g. 'identity;timeline,outbound' runs identity in a process of its own).",
)
@click.option(
    "--stages",
    is_flag=True,
    help="Instead: the worker's CPU per event for identity, decode, projection and feeds, in process (no broker), "
    "in the many-children regime (4,000 children; --quick: 400), steady state.",
)
@click.option(
    "--profile",
    type=click.Choice(["identity", "decode", "projection", "feeds"]),
    default=None,
    help="With --stages: print cProfile's top functions for this step.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write JSON, Markdown and a plot here (e.g. docs/benchmarks).",
)
def pipeline(
    quick: bool,
    database: str | None,
    seed: int,
    workers: int,
    layout: str,
    stages: bool,
    profile: str | None,
    out: Path | None,
) -> None:
    """Measure intake → committed projections on the embedded broker, beside baselines from the same run."""
    if stages or profile:
        from hub.bench import stage_profile

        progress = Progress("event")
        outbound = HubSettings().outbound  # ONESTORY_OUTBOUND_*, as the worker reads them
        figures = stage_profile.run(outbound, 400 if quick else 4000, 14, 9, database, profile, progress.say)
        text = figures.pop("profile", None)
        click.echo(json.dumps(figures, indent=2))
        if text:
            click.echo(text, err=True)
        return
    processes = tuple(p.strip() for p in layout.split(";") if p.strip())
    steps = [step_names(p) for p in processes]
    if sorted(s for group in steps for s in group) != sorted(STEPS):
        raise click.UsageError(f"--layout {layout!r}: every step ({','.join(STEPS)}) must run exactly once")
    with tempfile.TemporaryDirectory(prefix="onestory-bench-") as tmp:
        workdir = Path(tmp)
        url = database or f"sqlite:///{workdir / 'bench.db'}"
        cfg = (PipelineConfig.quick if quick else PipelineConfig.full)(url, workdir, seed, workers, processes)
        progress = Progress("event")
        results = run(cfg, progress.say, progress.bar)
        progress.say("done")
    click.echo(json.dumps(results, indent=2, default=str))
    if out is not None:
        scale = f"-{workers}workers" if workers > 1 else ""
        scale += f"-{len(processes)}processes" if len(processes) > 1 else ""
        name = f"pipeline-{'quick-' if quick else ''}{results['database'].split('+')[0]}{scale}"
        command = (
            "onestory bench pipeline"
            + (" --quick" if quick else "")
            + (f" --database {shlex.quote(database)}" if database else "")
            + f" --seed {seed}"
            + (f" --workers {workers}" if workers > 1 else "")
            + (f" --layout {shlex.quote(layout)}" if len(processes) > 1 else "")
        )
        md = report.write(results, out, name, command)
        click.echo(f"report: {md}", err=True)
