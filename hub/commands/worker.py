"""`onestory worker`: the stream processors (a Faust worker). `onestory up` starts one; Kubernetes runs many."""

from __future__ import annotations

from typing import Any

import click
import faust

from hub.audit.policy_in_force import record_policy_in_force
from hub.collector import tune_for_service
from hub.db.engine import engine_for
from hub.disclosure.rules import bundled_rules
from hub.events.codec import EventCodec
from hub.kafka.producer import DurableProducer
from hub.kafka.security import faust_credentials, kafka_client_config
from hub.kafka.topics import ALL_TOPICS, ensure_topics, topic_ids
from hub.outbound.config import OutboundConfig
from hub.outbound.topics import ensure_feed_topics
from hub.policy_files import load_policy
from hub.settings import HubSettings
from hub.telemetry.setup import configure_telemetry
from hub.worker import agents, feeds_agent
from hub.worker.app import WorkerDeps, create_app
from hub.worker.hot_path import STEPS, parse_steps

SESSION_TIMEOUT_S = 10.0  # as the Faust app's own (hub.worker.app.create_app)


def build_worker_app(settings: HubSettings, web_port: int) -> faust.App:
    if not settings.kafka:
        raise click.UsageError("the worker needs --kafka HOST:PORT (onestory up passes its embedded broker)")
    security = kafka_client_config(settings)
    ensure_topics(
        settings.kafka, settings.partitions, replication_factor=settings.topic_replication_factor, config=security
    )
    deps = WorkerDeps(
        engine=engine_for(settings),
        codec=EventCodec.load(),
        producer=DurableProducer(settings.kafka, client_id="onestory-worker", config=security),
        topic_ids=topic_ids(settings.kafka, list(ALL_TOPICS), config=security),
        policy=load_policy(settings.policy_file, settings.directory_file),
        rules=bundled_rules(),
    )
    record_policy_in_force(deps.engine, deps.policy)
    app = create_app(
        settings.kafka, web_port, datadir=str(settings.data_dir / "faust"), credentials=faust_credentials(settings)
    )
    outbound = OutboundConfig.load(settings.outbound)
    ensure_feed_topics(
        settings.kafka,
        [s.organisation for s in outbound.subscribers],
        settings.partitions,
        settings.topic_replication_factor,
        config=security,
    )
    steps = step_names(settings.worker_steps)
    hot = agents.register(app, deps, settings.kafka, outbound, SESSION_TIMEOUT_S, steps, security)
    if "outbound" in steps:  # the outbox relay and rest hooks send what this worker's feeds queue
        feeds_agent.register(app, deps, outbound)

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        assigned = app.consumer.assignment() if app.consumer else set()
        status = "ok" if assigned and hot.ready else "starting"
        body = {"status": status, "assigned_partitions": len(assigned), "hot_path_ready": hot.ready}
        return web.json(body, status=200 if status == "ok" else 503)

    return app


def step_names(text: str) -> tuple[str, ...]:
    try:
        return parse_steps(text)
    except ValueError as exc:
        raise click.UsageError(f"--steps {text!r}: {exc}") from exc


@click.command()
@click.option("--kafka", default=None, help="Bootstrap servers HOST:PORT (default: ONESTORY_KAFKA).")
@click.option("--database", default=None, help="SQLAlchemy URL (default: ONESTORY_DATABASE, else SQLite).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Default: ONESTORY_DATA_DIR or var.")
@click.option("--web-port", type=int, default=6066, show_default=True, help="Loopback port of the health page.")
@click.option("--log-level", default=None, help="Default: ONESTORY_LOG_LEVEL or warning.")
@click.option(
    "--steps",
    default=None,
    help=f"Hot-path steps to run, comma-separated, from {','.join(STEPS)} (default: ONESTORY_WORKER_STEPS or "
    "all). Run them as separate processes to use more cores; every step must run somewhere.",
)
def worker(
    kafka: str | None,
    database: str | None,
    data_dir: str | None,
    web_port: int,
    log_level: str | None,
    steps: str | None,
) -> None:
    """Run the stream processors: identity, timeline projection, outbound feeds and dead-letter keeping.

    Options override the ONESTORY_* environment, so Kubernetes passes secrets as env, never on the command line.
    """
    given: dict[str, Any] = {
        "kafka": kafka,
        "database": database,
        "data_dir": data_dir,
        "log_level": log_level,
        "worker_steps": steps,
    }
    settings = HubSettings(**{k: v for k, v in given.items() if v is not None})
    telemetry = configure_telemetry("onestory-worker", settings, configure_logs=False)
    app = build_worker_app(settings, web_port)
    tune_for_service()
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True, logging_config=telemetry.logging_config())
    # Faust's start-up spinner writes cursor escapes even when its output is not a terminal (under `up` it is
    # up's stderr, often the same file or pipe as the `ready` line): no spinner, ever.
    worker.spinner = None
    worker.execute_from_commandline()
