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
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write JSON, Markdown and a plot here (e.g. docs/benchmarks).",
)
def pipeline(quick: bool, database: str | None, seed: int, workers: int, out: Path | None) -> None:
    """Measure intake → committed projections on the embedded broker, beside baselines from the same run."""
    with tempfile.TemporaryDirectory(prefix="onestory-bench-") as tmp:
        workdir = Path(tmp)
        url = database or f"sqlite:///{workdir / 'bench.db'}"
        cfg = (PipelineConfig.quick if quick else PipelineConfig.full)(url, workdir, seed, workers)
        progress = Progress("event")
        results = run(cfg, progress.say, progress.bar)
        progress.say("done")
    click.echo(json.dumps(results, indent=2, default=str))
    if out is not None:
        scale = f"-{workers}workers" if workers > 1 else ""
        name = f"pipeline-{'quick-' if quick else ''}{results['database'].split('+')[0]}{scale}"
        command = (
            "onestory bench pipeline"
            + (" --quick" if quick else "")
            + (f" --database {shlex.quote(database)}" if database else "")
            + f" --seed {seed}"
            + (f" --workers {workers}" if workers > 1 else "")
        )
        md = report.write(results, out, name, command)
        click.echo(f"report: {md}", err=True)
