"""Provisioning the per-organisation outbound topics (onestory.out.<org>.v1) for the configured feeds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from confluent_kafka import KafkaException
from confluent_kafka.admin import NewTopic

from hub.kafka.topics import admin
from hub.outbound.dispatch import out_topic


def ensure_feed_topics(
    bootstrap: str,
    organisations: Iterable[str],
    partitions: int,
    replication_factor: int = 1,
    timeout: float = 15.0,
    config: Mapping[str, str] | None = None,
) -> list[str]:
    """Create the feed topics that are missing (never re-created or shrunk); returns every feed topic name."""
    names = [out_topic(org) for org in organisations]
    client = admin(bootstrap, config)
    existing = set(client.list_topics(timeout=timeout).topics)
    missing = [
        NewTopic(n, num_partitions=partitions, replication_factor=replication_factor)
        for n in names
        if n not in existing
    ]
    if missing:
        for name, future in client.create_topics(missing, request_timeout=timeout).items():
            try:
                future.result(timeout)
            except KafkaException as exc:
                if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise RuntimeError(f"could not create topic {name}: {exc}") from exc
    return names
