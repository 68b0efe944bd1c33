"""`onestory topics create|list`: provision the Kafka topics (the helm topics Job runs `create`).

`onestory up` and the worker create missing topics too; in Kubernetes the Job does it once, before the
processors start, with the cluster's replication factor. Existing topics are never shrunk or re-created.
"""

from __future__ import annotations

from typing import Any

import click

from hub.kafka.security import kafka_client_config
from hub.kafka.topics import ALL_TOPICS, admin, ensure_topics
from hub.settings import HubSettings


def _settings(kafka: str | None, partitions: int | None, replication_factor: int | None) -> HubSettings:
    given: dict[str, Any] = {"kafka": kafka, "partitions": partitions, "topic_replication_factor": replication_factor}
    settings = HubSettings(**{k: v for k, v in given.items() if v is not None})
    if not settings.kafka:
        raise click.UsageError("no Kafka cluster: pass --kafka HOST:PORT or set ONESTORY_KAFKA")
    return settings


@click.group()
def topics() -> None:
    """Kafka topics used by OneStory."""


@topics.command("create")
@click.option("--kafka", default=None, help="Bootstrap servers (default: ONESTORY_KAFKA).")
@click.option("--partitions", type=click.IntRange(min=1), default=None, help="Default: ONESTORY_PARTITIONS.")
@click.option(
    "--replication-factor", type=click.IntRange(min=1), default=None, help="Default: ONESTORY_TOPIC_REPLICATION_FACTOR."
)
@click.option("--timeout", type=float, default=30.0, show_default=True)
def create(kafka: str | None, partitions: int | None, replication_factor: int | None, timeout: float) -> None:
    """Create every missing OneStory topic; print each topic with its partition count."""
    s = _settings(kafka, partitions, replication_factor)
    assert s.kafka is not None
    try:
        ensure_topics(
            s.kafka,
            s.partitions,
            timeout=timeout,
            replication_factor=s.topic_replication_factor,
            config=kafka_client_config(s),
        )
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    _print(s, timeout)


@topics.command("list")
@click.option("--kafka", default=None, help="Bootstrap servers (default: ONESTORY_KAFKA).")
@click.option("--timeout", type=float, default=15.0, show_default=True)
def list_topics(kafka: str | None, timeout: float) -> None:
    """Print each OneStory topic with its partition count (`missing` if it does not exist)."""
    s = _settings(kafka, None, None)
    assert s.kafka is not None
    _print(s, timeout)


def _print(s: HubSettings, timeout: float) -> None:
    assert s.kafka is not None
    found = admin(s.kafka, kafka_client_config(s)).list_topics(timeout=timeout).topics
    for name in ALL_TOPICS:
        meta = found.get(name)
        click.echo(f"{name} partitions={len(meta.partitions) if meta else 'missing'}")
