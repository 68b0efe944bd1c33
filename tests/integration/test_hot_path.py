"""The worker's batched consumers on the real broker: whole batches, offsets committed after the work, and a
failing step stops the hot path (so the worker is restarted) instead of skipping the batch."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from hub.kafka.embedded_broker import EmbeddedBroker
from hub.kafka.producer import DurableProducer, OutRecord
from hub.worker.batch_consumer import Message
from hub.worker.hot_path import HotPath, Step

pytestmark = pytest.mark.integration


def _topic(broker: EmbeddedBroker, partitions: int = 3) -> str:
    name = f"test.hot.{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(15)
    return name


def _wait(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_batches_arrive_whole_with_headers_and_a_restart_resumes_after_the_committed_offsets(
    broker: EmbeddedBroker,
) -> None:
    topic = _topic(broker)
    producer = DurableProducer(broker.bootstrap, client_id="test-hot")
    producer.send_all([OutRecord(topic, f"k{i % 5}".encode(), f"v{i}".encode(), (("h", b"x"),)) for i in range(300)])
    seen: list[Message] = []
    lock = threading.Lock()

    def collect(batch: Sequence[Message]) -> None:
        with lock:
            seen.extend(batch)

    group = f"g-{uuid.uuid4().hex[:6]}"
    hot = HotPath(broker.bootstrap, group, [Step("collect", topic, collect)], session_timeout_s=6.0)
    hot.start()
    _wait(lambda: len(seen) >= 300)
    assert hot.ready
    hot.stop()
    hot.wait(20)
    assert sorted(m.value for m in seen) == sorted(f"v{i}".encode() for i in range(300))
    assert all(m.headers == [("h", b"x")] for m in seen)
    assert len({(m.partition, m.offset) for m in seen}) == 300

    producer.send_all([OutRecord(topic, b"k", b"after")])
    again: list[Message] = []
    hot = HotPath(broker.bootstrap, group, [Step("collect", topic, again.extend)], session_timeout_s=6.0)
    hot.start()
    _wait(lambda: len(again) >= 1)
    time.sleep(1.0)  # anything re-read would arrive with it
    hot.stop()
    hot.wait(20)
    assert [m.value for m in again] == [b"after"], "only what was not committed is read again"


def test_a_failing_step_stops_the_hot_path_and_is_raised(broker: EmbeddedBroker) -> None:
    topic = _topic(broker, 1)
    DurableProducer(broker.bootstrap).send_all([OutRecord(topic, b"k", b"poison")])

    def fail(batch: Sequence[Message]) -> None:
        raise ValueError(f"cannot handle {len(batch)} record(s)")

    hot = HotPath(broker.bootstrap, f"g-{uuid.uuid4().hex[:6]}", [Step("fail", topic, fail)], session_timeout_s=6.0)
    hot.start()
    with pytest.raises(ValueError, match="cannot handle 1 record"):
        hot.wait(30)
    assert hot.stopping()
