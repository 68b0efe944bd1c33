"""`onestory up`: the whole hub on one machine (embedded broker + SQLite by default), until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path

import click

from hub.collector import tune_for_service
from hub.region.demo import hints, load_demo
from hub.settings import HubSettings
from hub.stack import Stack
from hub.telemetry.setup import configure_telemetry

log = logging.getLogger("onestory.up")


async def _run(stack: Stack, demo: bool, ready_timeout: float) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    t0 = time.monotonic()
    try:
        await asyncio.to_thread(stack.start_infrastructure)
        stack.timings["broker+topics+migrations"] = time.monotonic() - t0
        stack.start_worker()
        await stack.start_edges()
        await stack.wait_ready(ready_timeout)
        tune_for_service()
        stack.timings["ready"] = time.monotonic() - t0
        click.echo(stack.ready_line() + f" startup_s={stack.timings['ready']:.1f}", nl=True)
        supervisor = asyncio.create_task(stack.supervise())
        if demo:
            await asyncio.to_thread(_load_demo, stack)
        await stop.wait()
        supervisor.cancel()
        click.echo("stopping", err=True)
        return 0
    finally:
        await stack.stop()
        if "ready" in stack.timings:  # a failed start says only what is wrong (hub.failures via hub.cli)
            click.echo("stopped " + " ".join(f"{k}={v:.1f}s" for k, v in stack.timings.items()), err=True)


def _load_demo(stack: Stack) -> None:
    """A small region through the real interfaces (hub/region/demo.py), then where to look at it."""
    assert stack.mllp is not None
    api = f"http://{stack.settings.api_host}:{stack.settings.api_port}"
    result = load_demo(api, (stack.settings.mllp_host, stack.mllp.port), stack.settings.data_dir, say=click.echo)
    for line in hints(api, result):
        click.echo(line)


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var"),
    show_default=True,
    help="Keys, the SQLite database and local state.",
)
@click.option("--api-port", type=int, default=8080, show_default=True)
@click.option("--mllp-port", type=int, default=2575, show_default=True)
@click.option(
    "--kafka", default=None, help="HOST:PORT of an external Kafka cluster (default: start the embedded broker)."
)
@click.option("--database", default=None, help="SQLAlchemy URL (default: SQLite file in the data dir).")
@click.option("--demo/--no-demo", default=True, show_default=True, help="Send synthetic demo messages once ready.")
@click.option("--policy", "policy_file", default=None, help="Data-sharing policy YAML (default: the bundled policy).")
@click.option(
    "--directory",
    "directory_file",
    default=None,
    help="Organisation directory YAML (default: the bundled directory; see `onestory orgs`).",
)
@click.option("--ready-timeout", type=float, default=60.0, show_default=True)
@click.option(
    "--education-drop",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Watch this folder for school MIS exports (<URN>_<type>.csv); taken files move to done/.",
)
def up(
    data_dir: Path,
    api_port: int,
    mllp_port: int,
    kafka: str | None,
    database: str | None,
    demo: bool,
    ready_timeout: float,
    education_drop: Path | None = None,
    policy_file: str | None = None,
    directory_file: str | None = None,
) -> None:
    """Start the broker (unless --kafka), topics, migrations, processors, MLLP listener and HTTP API.

    Prints one line starting with `ready` when every component answers; stops cleanly on SIGINT/SIGTERM.
    """
    settings = HubSettings(
        data_dir=data_dir,
        api_port=api_port,
        mllp_port=mllp_port,
        kafka=kafka,
        database=database,
        demo=demo,
        policy_file=policy_file,
        directory_file=directory_file,
    )
    telemetry = configure_telemetry("onestory-hub", settings)
    try:
        code = asyncio.run(_run(Stack(settings=settings, education_drop=education_drop), demo, ready_timeout))
    finally:
        telemetry.shutdown()
    raise SystemExit(code)
