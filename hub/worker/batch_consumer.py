"""A confluent-kafka consumer that hands over whole batches, for the high-volume path (DESIGN.md).

Faust's per-event machinery costs about ten times the projection work itself, so the intake and events
topics are read here instead: `consume(n)` in one call, offsets committed to Kafka only after the caller's
SQL transaction has committed. The SQL tracking rows stay the truth; a redelivered batch (after a crash or
a rebalance) is skipped by them, so committing to Kafka only shortens what a restart re-reads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from hub.telemetry.metrics import record_lag

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """One consumed record, from the batched consumer or converted from a Faust event (`from_faust`)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)

    @classmethod
    def from_faust(cls, event: Any) -> Message:
        """A Faust event (the dead-letter agent's) as the one record type the steps and telemetry read."""
        meta = event.message
        raw = meta.headers or []
        items = raw.items() if isinstance(raw, dict) else raw
        headers = [(str(k), v if isinstance(v, bytes) else str(v).encode()) for k, v in items]
        return cls(meta.topic, meta.partition, meta.offset, event.key, event.value or b"", headers)


@dataclass(frozen=True)
class ConsumerSettings:
    bootstrap: str
    group: str
    topic: str
    session_timeout_s: float = 10.0
    client_id: str = "onestory-worker"
    security: Mapping[str, str] | None = None  # hub.kafka.security.kafka_client_config; None: plaintext


class BatchConsumer:
    """A member of one consumer group on one topic; rebalances happen inside `poll`, on the caller's thread."""

    def __init__(self, settings: ConsumerSettings) -> None:
        self.settings = settings
        self._assigned: set[int] = set()
        self._lock = threading.Lock()
        self._consumer = Consumer(
            {
                "bootstrap.servers": settings.bootstrap,
                "group.id": settings.group,
                "client.id": settings.client_id,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": int(settings.session_timeout_s * 1000),
                "heartbeat.interval.ms": 1000,
                "fetch.wait.max.ms": 20,
                "queued.min.messages": 20000,
                **(settings.security or {}),
            }
        )
        self._consumer.subscribe([settings.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    def _on_assign(self, _consumer: Any, partitions: list[TopicPartition]) -> None:
        with self._lock:
            self._assigned = {p.partition for p in partitions}
        log.info("%s: assigned %d partition(s) of %s", self.settings.group, len(partitions), self.settings.topic)

    def _on_revoke(self, _consumer: Any, partitions: list[TopicPartition]) -> None:
        with self._lock:
            self._assigned -= {p.partition for p in partitions}

    @property
    def assigned(self) -> int:
        with self._lock:
            return len(self._assigned)

    def poll(self, max_records: int, timeout: float) -> list[Message]:
        """Up to `max_records` records, waiting at most `timeout` seconds for the first.

        `consume(n, t)` waits the whole `t` unless `n` records arrive, which would add `t` to every record's
        latency on a quiet topic. So: take what is already fetched; if nothing is, wait for one record and
        take whatever has arrived with it. Under load the queue fills while the last batch is worked on,
        so batches stay large; when quiet, a record is handed over as soon as it arrives.
        """
        raw = self._consumer.consume(max_records, 0)
        if not raw:
            raw = self._consumer.consume(1, timeout)
            if raw:
                raw += self._consumer.consume(max_records - 1, 0)
        out: list[Message] = []
        for m in raw:
            err = m.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                if err.fatal():
                    raise KafkaException(err)
                log.warning("%s: consume error %s", self.settings.group, err.name())
                continue
            out.append(
                Message(
                    m.topic() or self.settings.topic,
                    m.partition() or 0,
                    m.offset() or 0,
                    m.key(),
                    m.value() or b"",
                    [(k, v or b"") for k, v in cast(list[tuple[str, bytes | None]], m.headers() or [])],
                )
            )
        return out

    def commit(self, batch: Sequence[Message]) -> None:
        """Tell Kafka the batch is done (asynchronously: the SQL tracking row already says so durably)."""
        nxt: dict[int, int] = {}
        for m in batch:
            nxt[m.partition] = max(nxt.get(m.partition, 0), m.offset + 1)
        if not nxt:
            return
        offsets = [TopicPartition(self.settings.topic, p, o) for p, o in nxt.items()]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=True)
        except KafkaException as exc:  # e.g. a rebalance took the partition: its new owner re-reads, SQL dedupes
            log.info("%s: offset commit skipped (%s)", self.settings.group, exc.args[0].name())

    def observe_lag(self, batch: Sequence[Message]) -> None:
        """Consumer lag per partition after the batch: high watermark − next offset to read."""
        last: dict[int, int] = {}
        for m in batch:
            last[m.partition] = max(last.get(m.partition, -1), m.offset)
        for partition, offset in last.items():
            _low, high = self._consumer.get_watermark_offsets(
                TopicPartition(self.settings.topic, partition), cached=True
            )
            if high >= 0:
                record_lag(self.settings.group, self.settings.topic, partition, max(0, high - offset - 1))

    def close(self) -> None:
        self._consumer.close()
