"""`onestory log restore`: republish the SQL event archive into an empty broker.

The embedded broker keeps nothing across restarts; the event store is the durable archive. Restored events
go to onestory.events.v1 keyed by child id, exactly as the identity processor first published them;
consumers dedupe by event id, and their offset tracking keys on the new topic id.
"""

from __future__ import annotations

import click
from tqdm import tqdm

from hub.db.engine import engine_for
from hub.kafka.producer import DurableProducer
from hub.kafka.restore import archived_count, restore_events
from hub.kafka.security import kafka_client_config
from hub.kafka.topics import EVENTS, ensure_topics
from hub.settings import HubSettings


@click.group()
def log() -> None:
    """The event log: restore the broker from the SQL archive."""


@log.command()
@click.option("--kafka", required=True, help="Bootstrap servers HOST:PORT of the (empty) broker.")
@click.option("--data-dir", type=click.Path(file_okay=False), default="var", show_default=True)
@click.option("--database", default=None, help="SQLAlchemy URL (default: SQLite in the data dir).")
@click.option("--batch", type=int, default=5000, show_default=True)
def restore(kafka: str, data_dir: str, database: str | None, batch: int) -> None:
    """Republish every archived event, in archive order, to onestory.events.v1."""
    settings = HubSettings(data_dir=data_dir, database=database, kafka=kafka)
    security = kafka_client_config(settings)
    ensure_topics(kafka, settings.partitions, config=security)
    engine = engine_for(settings)
    producer = DurableProducer(kafka, client_id="onestory-restore", config=security)
    with tqdm(total=archived_count(engine), unit="event", desc="restore", dynamic_ncols=True) as bar:
        sent = restore_events(engine, producer, batch, bar.update)
    producer.close()
    click.echo(f"restored {sent} events to {EVENTS}")
