"""The Faust app: declared once, given its dependencies explicitly, agents registered from projections/.

Faust runs the worker's lifecycle, consumer group and rebalancing; the per-record work is batched
(`take_events`) and written to SQL, because processor state lives in SQL, not in Faust tables (DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import faust
from sqlalchemy import Engine

from consent_engine import Policy
from hub.disclosure.rules import Rules
from hub.events.codec import EventCodec
from hub.kafka.producer import DurableProducer


@dataclass
class WorkerDeps:
    engine: Engine
    codec: EventCodec
    producer: DurableProducer
    topic_ids: dict[str, str]
    policy: Policy
    rules: Rules


def create_app(
    bootstrap: str,
    web_port: int,
    session_timeout: float = 10.0,
    datadir: str | None = None,
    credentials: faust.SASLCredentials | faust.SSLCredentials | None = None,
) -> faust.App:
    """`datadir` keeps Faust's own scratch folder inside the hub's data dir, not the working directory;
    `credentials` are the broker's TLS/SASL (hub.kafka.security.faust_credentials; None: plaintext)."""
    return faust.App(
        "onestory-projector",
        datadir=datadir or "var/faust",
        broker=f"kafka://{bootstrap}",
        broker_credentials=credentials,
        store="memory://",
        web_bind="127.0.0.1",
        web_port=web_port,
        web_host="127.0.0.1",
        topic_disable_leader=True,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=session_timeout,
        broker_heartbeat_interval=1.0,
        stream_wait_empty=False,
        producer_acks=-1,
    )


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
