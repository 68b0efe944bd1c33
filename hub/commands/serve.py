"""`onestory api` and `onestory mllp`: one edge each, against an external Kafka cluster and database.

`onestory up` runs everything in one process tree for a single machine; in Kubernetes the API, the MLLP
listener and the processors are separate Deployments that scale on their own. These commands reuse the
pieces `onestory up` is built from (hub.stack), and read every setting from ONESTORY_* variables.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

import click
import uvicorn
from sqlalchemy import Engine, text

from connectors.publisher import Publisher
from hub.api.main import create_api
from hub.collector import tune_for_service
from hub.db.engine import engine_for
from hub.events.codec import EventCodec
from hub.kafka.journal import IntakeJournal, journal_engine
from hub.kafka.producer import DurableProducer
from hub.kafka.security import kafka_client_config
from hub.mllp_edge import mllp_server
from hub.settings import HubSettings
from hub.stack import api_context
from hub.telemetry.setup import configure_telemetry

log = logging.getLogger(__name__)


def _settings(**given: Any) -> HubSettings:
    return HubSettings(**{k: v for k, v in given.items() if v is not None})


def database_health(engine: Engine) -> Any:
    """The stand-alone API depends on the database only; the worker and broker have their own probes."""

    def probe() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def health() -> dict[str, Any]:
        try:
            await asyncio.wait_for(asyncio.to_thread(probe), timeout=3)
            return {"database": {"status": "ok"}}
        except Exception as exc:  # noqa: BLE001 - a health probe reports any failure instead of raising
            return {"database": {"status": "down", "error": type(exc).__name__}}

    return health


def edge_publisher(
    settings: HubSettings, engine: Engine, producer: DurableProducer, codec: EventCodec
) -> tuple[Publisher, IntakeJournal | None]:
    """How a stand-alone edge publishes: through the intake journal if ONESTORY_INTAKE_JOURNAL says so (off by
    default against an external cluster, whose acks=all is durable), dead letters straight to SQL."""
    journal = None
    if settings.journal_enabled():
        journal = IntakeJournal(journal_engine(engine), producer, archive=engine).start()
    return Publisher(journal or producer, codec, deadletter_store=engine), journal


def app_from_env() -> Any:
    """uvicorn's factory for `--workers N`: each worker process builds its own engine, producer and context.

    Their producer and telemetry end with the worker process (DurableProducer waits for every delivery it
    reports, so nothing is left unsent).
    """
    settings = HubSettings()
    configure_telemetry("onestory-api", settings)
    engine = engine_for(settings)
    codec = EventCodec.load()
    producer = (
        DurableProducer(settings.kafka, client_id="onestory-connectors", config=kafka_client_config(settings))
        if settings.kafka
        else None
    )
    ctx = api_context(settings, engine, codec, database_health(engine))
    ctx.publisher = edge_publisher(settings, engine, producer, codec)[0] if producer else None
    app = create_api(ctx)
    tune_for_service()
    return app


@click.command()
@click.option("--host", default=None, help="Bind address (default: ONESTORY_API_HOST).")
@click.option("--port", type=int, default=None, help="Port (default: ONESTORY_API_PORT).")
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Processes serving the API (uvicorn workers); reads are CPU-bound, so up to one per core.",
)
def api(host: str | None, port: int | None, workers: int) -> None:
    """Serve the FHIR, timeline and HTTP intake API (reads SQL; intake publishes to ONESTORY_KAFKA if set)."""
    settings = _settings(api_host=host, api_port=port)
    if workers > 1:
        uvicorn.run(
            "hub.commands.serve:app_from_env",
            factory=True,
            workers=workers,
            host=settings.api_host,
            port=settings.api_port,
            log_config=None,
            access_log=False,
            log_level=settings.log_level.lower(),
            lifespan="off",
        )
        return
    telemetry = configure_telemetry("onestory-api", settings)
    engine = engine_for(settings)
    codec = EventCodec.load()
    producer = (
        DurableProducer(settings.kafka, client_id="onestory-connectors", config=kafka_client_config(settings))
        if settings.kafka
        else None
    )
    journal: IntakeJournal | None = None
    try:
        ctx = api_context(settings, engine, codec, database_health(engine))
        if producer is not None:  # without Kafka, /intake answers 503
            ctx.publisher, journal = edge_publisher(settings, engine, producer, codec)
        app = create_api(ctx)
        tune_for_service()
        uvicorn.run(
            app,
            host=settings.api_host,
            port=settings.api_port,
            log_config=None,
            access_log=False,
            log_level=settings.log_level.lower(),
            lifespan="off",
        )
    finally:
        if journal is not None:
            journal.stop()
        if producer is not None:
            producer.close()
        engine.dispose()
        telemetry.shutdown()


async def _serve_mllp(settings: HubSettings, producer: DurableProducer, engine: Engine) -> None:
    publisher, journal = edge_publisher(settings, engine, producer, EventCodec.load())
    server = mllp_server(settings, publisher, engine)  # limits, TLS, sender binding, audit
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    click.echo(f"ready mllp={server.host}:{server.port}")
    await stop.wait()
    await server.stop()
    if journal is not None:
        await asyncio.to_thread(journal.stop)


@click.command()
@click.option("--host", default=None, help="Bind address (default: ONESTORY_MLLP_HOST).")
@click.option("--port", type=int, default=None, help="Port (default: ONESTORY_MLLP_PORT).")
@click.option("--kafka", default=None, help="Bootstrap servers (default: ONESTORY_KAFKA).")
def mllp(host: str | None, port: int | None, kafka: str | None) -> None:
    """Listen for HL7 v2 over MLLP and publish to the intake topic; ACK only once Kafka has the events."""
    settings = _settings(mllp_host=host, mllp_port=port, kafka=kafka)
    if not settings.kafka:
        raise click.UsageError("the MLLP listener needs --kafka HOST:PORT or ONESTORY_KAFKA")
    telemetry = configure_telemetry("onestory-mllp", settings)
    producer = DurableProducer(settings.kafka, client_id="onestory-connectors", config=kafka_client_config(settings))
    engine = engine_for(settings)  # dead letters, the refused-sender audit and (if on) the intake journal
    try:
        asyncio.run(_serve_mllp(settings, producer, engine))
    finally:
        producer.close()
        engine.dispose()
        telemetry.shutdown()
