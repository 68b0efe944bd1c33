"""`onestory worker`: the stream processors (a Faust worker). `onestory up` starts one; Kubernetes runs many."""

from __future__ import annotations

from typing import Any

import click
import faust

from hub.app import WorkerDeps, create_app
from hub.commands.policy import load_policy
from hub.db.engine import make_engine
from hub.events.codec import EventCodec
from hub.kafka.producer import DurableProducer
from hub.kafka.topics import ALL_TOPICS, ensure_topics, topic_ids
from hub.settings import HubSettings
from projections import agents
from projections.rules import bundled_rules


def build_worker_app(settings: HubSettings, web_port: int) -> faust.App:
    if not settings.kafka:
        raise click.UsageError("the worker needs --kafka HOST:PORT (onestory up passes its embedded broker)")
    ensure_topics(settings.kafka, settings.partitions)
    deps = WorkerDeps(
        engine=make_engine(settings.database_url()),
        codec=EventCodec.load(),
        producer=DurableProducer(settings.kafka, client_id="onestory-worker"),
        topic_ids=topic_ids(settings.kafka, list(ALL_TOPICS)),
        policy=load_policy(settings.policy_file),
        rules=bundled_rules(),
    )
    app = create_app(settings.kafka, web_port)
    agents.register(app, deps)

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        assigned = app.consumer.assignment() if app.consumer else set()
        status = "ok" if assigned else "starting"
        return web.json({"status": status, "assigned_partitions": len(assigned)}, status=200 if assigned else 503)

    return app


@click.command()
@click.option("--kafka", required=True, help="Bootstrap servers HOST:PORT.")
@click.option("--database", default=None, help="SQLAlchemy URL (default: SQLite in the data dir).")
@click.option("--data-dir", type=click.Path(file_okay=False), default="var", show_default=True)
@click.option("--web-port", type=int, default=6066, show_default=True, help="Loopback port of the worker's health page.")
@click.option("--log-level", default="warning", show_default=True)
def worker(kafka: str, database: str | None, data_dir: str, web_port: int, log_level: str) -> None:
    """Run the stream processors: identity, timeline projection and dead-letter keeping."""
    settings = HubSettings(kafka=kafka, database=database, data_dir=data_dir)  # type: ignore[arg-type]
    app = build_worker_app(settings, web_port)
    faust.Worker(app, loglevel=log_level, quiet=True).execute_from_commandline()
