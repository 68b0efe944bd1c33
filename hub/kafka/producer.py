"""A durable producer: idempotent, acks=all, and a send that returns only when the broker has the record.

confluent-kafka is used rather than aiokafka because the embedded broker cannot hand aiokafka a producer id.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message, Producer


class DeliveryError(RuntimeError):
    """The broker did not acknowledge a record; the caller must not report it as accepted."""


@dataclass(frozen=True)
class OutRecord:
    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    event_id: str | None = None  # the canonical event's id, where the record carries one (the intake journal)


class DurableProducer:
    def __init__(self, bootstrap: str, client_id: str = "onestory", config: Mapping[str, str] | None = None) -> None:
        """`config`: client security from hub.kafka.security.kafka_client_config (None: plaintext)."""
        self._config = {
            "bootstrap.servers": bootstrap,
            "client.id": client_id,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 2,
            "message.timeout.ms": 15000,
            **(config or {}),
        }
        self._producer = Producer(self._config)
        self._lock = threading.Lock()

    def reconnect(self) -> None:
        """A fresh client after the broker was replaced: an idempotent producer's id and sequence numbers
        belong to the broker that issued them, and a restarted embedded broker knows neither."""
        self._producer.purge()  # without the lock: a send_all waiting on the dead broker returns at once
        with self._lock:
            self._producer = Producer(self._config)

    def send_all(self, records: Sequence[OutRecord], timeout: float = 20.0) -> None:
        """Produce every record and wait for each acknowledgement; raise if any failed."""
        errors: list[str] = []
        pending = [len(records)]

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            pending[0] -= 1
            if err is not None:
                errors.append(err.str())

        with self._lock:
            for rec in records:
                self._producer.produce(
                    rec.topic, key=rec.key, value=rec.value, headers=list(rec.headers), on_delivery=on_delivery
                )
            remaining = self._producer.flush(timeout)
        if remaining or pending[0] > 0:
            raise DeliveryError(f"{pending[0]} record(s) not acknowledged within {timeout:.0f}s")
        if errors:
            raise DeliveryError(f"broker rejected record(s): {errors[0]}")

    def close(self) -> None:
        self._producer.flush(5)
