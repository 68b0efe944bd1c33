"""`onestory bench pipeline`: end-to-end throughput, latency, rebuild and consent figures with baselines."""

from __future__ import annotations

import json
import shlex
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import click
from tqdm import tqdm

from hub.bench import report
from hub.bench.pipeline import PipelineConfig, run


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
        bars: list[tqdm] = []

        def say(message: str) -> None:
            for b in bars:
                b.close()
            bars.clear()
            click.echo(f"bench: {message}", err=True)

        def bar(label: str, total: int) -> Callable[[int], None]:
            b = tqdm(total=total or None, desc=label, unit="event", file=sys.stderr, dynamic_ncols=True)
            bars.append(b)

            def update(n: int) -> None:
                b.n = n
                b.refresh()

            return update

        results = run(cfg, say, bar)
        say("done")
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
