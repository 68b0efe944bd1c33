"""The topics OneStory uses and their provisioning (the helm Job runs the same code)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaException, TopicCollection
from confluent_kafka.admin import AdminClient, NewTopic

INTAKE = "onestory.intake.v1"
DEADLETTER = "onestory.deadletter.v1"
EVENTS = "onestory.events.v1"
CONSENT = "onestory.consent.v1"
AUDIT = "onestory.audit.v1"
IDENTITY = "onestory.identity.v1"  # identity decisions: link, not-same, unmerge (projections/identity/decision_feed.py)

CONNECT_TIMEOUT = 5.0  # seconds for the first metadata answer before ensure_topics gives up
ALL_TOPICS = (INTAKE, DEADLETTER, EVENTS, CONSENT, AUDIT, IDENTITY)

# librdkafka's own log lines go to this Python logger, never straight to stderr: an unreachable broker otherwise
# prints one line per reconnect attempt (hundreds) over the operator's one-line error.
_LIBRDKAFKA_LOG = logging.getLogger("onestory.kafka.admin")


def admin(bootstrap: str, config: Mapping[str, str] | None = None) -> AdminClient:
    """`config`: client security from hub.kafka.security.kafka_client_config (None: plaintext)."""
    settings: dict[str, Any] = {"bootstrap.servers": bootstrap, "logger": _LIBRDKAFKA_LOG, **(config or {})}
    return AdminClient(settings)


def ensure_topics(
    bootstrap: str,
    partitions: int,
    timeout: float = 15.0,
    replication_factor: int = 1,
    config: Mapping[str, str] | None = None,
) -> None:
    """Create missing topics; existing ones are left as they are (never shrunk or re-created)."""
    client = admin(bootstrap, config)
    try:  # fail fast with one clear line when the broker cannot be reached at all
        existing = set(client.list_topics(timeout=min(timeout, CONNECT_TIMEOUT)).topics)
    except KafkaException as exc:
        reason = exc.args[0].str() if exc.args and hasattr(exc.args[0], "str") else str(exc)
        raise ConnectionError(f"cannot reach Kafka at {bootstrap} within {CONNECT_TIMEOUT:.0f}s: {reason}") from exc
    missing = [
        NewTopic(t, num_partitions=partitions, replication_factor=replication_factor)
        for t in ALL_TOPICS
        if t not in existing
    ]
    if not missing:
        return
    for name, future in client.create_topics(missing, request_timeout=timeout).items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise RuntimeError(f"could not create topic {name}: {exc}") from exc


def topic_ids(
    bootstrap: str, topics: list[str], timeout: float = 10.0, config: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Kafka topic ids: they change when a topic is re-created, so offset tracking keys on them."""
    client = admin(bootstrap, config)
    futures = client.describe_topics(TopicCollection(topics), request_timeout=timeout)
    return {name: str(future.result(timeout).topic_id) for name, future in futures.items()}
