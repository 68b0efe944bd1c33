"""`onestory bench read`: timeline and `$everything` read latency at 50 concurrent clients, audit included."""

from __future__ import annotations

import json
import shlex
import tempfile
from pathlib import Path

import click

from hub.bench import read_report
from hub.bench.progress import Progress
from hub.bench.read import ReadConfig, run


@click.command("read")
@click.option("--database", default=None, help="SQLAlchemy URL (default: a fresh SQLite file in a temp dir).")
@click.option("--clients", type=click.IntRange(1), default=50, show_default=True, help="Concurrent clients.")
@click.option("--requests", type=click.IntRange(1), default=None, help="Requests per measured phase [3000; quick 500].")
@click.option("--entries", type=click.IntRange(10), default=500, show_default=True, help="Timeline entries.")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True, help="API (uvicorn) processes.")
@click.option("--quick", is_flag=True, help="Fewer requests per phase: a first look in well under a minute.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write read-<db>[-N-workers].json, .md and .png here (e.g. docs/benchmarks).",
)
def read(
    database: str | None,
    clients: int,
    requests: int | None,
    entries: int,
    workers: int,
    quick: bool,
    seed: int,
    out: Path | None,
) -> None:
    """Measure child timeline reads over real HTTP with the audit write, beside same-run baselines."""
    with tempfile.TemporaryDirectory(prefix="onestory-bench-read-") as tmp:
        workdir = Path(tmp)
        url = database or f"sqlite:///{workdir / 'bench.db'}"
        given = {"clients": clients, "entries": entries, "workers": workers, "seed": seed}
        if requests is not None:
            given["requests"] = requests
            given["single_requests"] = max(1, min(requests, 300) // (5 if quick else 1))
        cfg = ReadConfig.quick(url, workdir, **given) if quick else ReadConfig(url, workdir, **given)
        progress = Progress("req")
        results = run(cfg, progress.say, progress.bar)
        progress.say("done")
    samples = results.pop("samples_ms")
    click.echo(json.dumps(results, indent=2))
    if out is not None:
        name = f"read-{'quick-' if quick else ''}{results['database']}" + (f"-{workers}-workers" if workers > 1 else "")
        command = "onestory bench read" + " ".join(
            [""]
            + (["--quick"] if quick else [])
            + ([f"--database {shlex.quote(database)}"] if database else [])
            + ([f"--clients {clients}"] if clients != 50 else [])
            + ([f"--requests {requests}"] if requests is not None else [])
            + ([f"--entries {entries}"] if entries != 500 else [])
            + ([f"--workers {workers}"] if workers != 1 else [])
        )
        md = read_report.write(results, samples, out, name, command)
        click.echo(f"report: {md}", err=True)
