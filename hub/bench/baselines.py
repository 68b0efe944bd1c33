"""Baselines measured in the same run as the pipeline, so figures are ratios on this machine, today.

- raw broker consume (confluent-kafka, no decode): the upper bound;
- fastavro decode: the Python bound;
- a batched confluent-kafka consumer that decodes and writes rows with tracked offsets and nothing else: the
  practical bound for a Python projector;
- a naive per-event Faust agent writing one SQL row per event: what a first try looks like.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition
from fastavro import schemaless_reader
from sqlalchemy import BigInteger, Column, Float, Integer, LargeBinary, MetaData, String, Table, func, insert, select

from hub.db.engine import make_engine
from hub.events.codec import EventCodec
from hub.kafka.producer import DurableProducer, OutRecord

META = MetaData()
bench_rows = Table(
    "bench_rows",
    META,
    Column("event_id", String(36), primary_key=True),
    Column("child", String(36), nullable=False),
    Column("body", LargeBinary, nullable=False),
    # wall-clock time of the naive agent's commit: its rate comes from the rows' own times, not from polling
    Column("written_at", Float, nullable=True),
)
bench_tracking = Table(
    "bench_tracking",
    META,
    Column("partition", Integer, primary_key=True),
    Column("last_offset", BigInteger, nullable=False),
)


class BaselineFailed(RuntimeError):
    """A baseline could not be measured; a zero would read as a figure, so the run stops and says why."""


def load_topic(bootstrap: str, topic: str, records: Sequence[tuple[bytes, bytes]]) -> None:
    producer = DurableProducer(bootstrap, client_id="bench-loader")
    for i in range(0, len(records), 20000):
        producer.send_all([OutRecord(topic, k, v) for k, v in records[i : i + 20000]], timeout=120)


def _consumer(bootstrap: str, group: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
        }
    )


def _partitions(consumer: Consumer, topic: str) -> list[TopicPartition]:
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    return [TopicPartition(topic, p, 0) for p in meta.partitions]


def raw_consume_rate(bootstrap: str, topic: str, expected: int) -> float:
    consumer = _consumer(bootstrap, f"bench-raw-{time.time_ns()}")
    consumer.assign(_partitions(consumer, topic))
    seen, t0 = 0, time.perf_counter()
    while seen < expected:
        seen += sum(1 for m in consumer.consume(5000, 1.0) if m.error() is None)
    rate = seen / (time.perf_counter() - t0)
    consumer.close()
    return rate


def decode_rate(codec: EventCodec, bodies: Sequence[bytes]) -> float:
    """fastavro's own schemaless reader on the bodies (not the hub codec, which has a faster generated reader
    for the current schema): the issue's fixed reference for what Python decodes."""
    writer = codec.reader
    t0 = time.perf_counter()
    for body in bodies:
        schemaless_reader(io.BytesIO(body[10:]), writer, None, return_record_name=True)
    return len(bodies) / (time.perf_counter() - t0)


def batched_projector_rate(bootstrap: str, topic: str, expected: int, database: str, codec: EventCodec) -> float:
    """confluent-kafka consume(5000) → decode → insert rows + tracked offsets, one transaction per batch."""
    engine = make_engine(database)
    META.drop_all(engine)
    META.create_all(engine)
    consumer = _consumer(bootstrap, f"bench-batched-{time.time_ns()}")
    consumer.assign(_partitions(consumer, topic))
    seen, t0 = 0, time.perf_counter()
    while seen < expected:
        batch = [m for m in consumer.consume(5000, 1.0) if m.error() is None]
        if not batch:
            continue
        rows, offsets = [], {}
        for m in batch:
            event = codec.decode(m.value() or b"")
            rows.append({"event_id": event["event_id"], "child": event["source"]["record_id"][:36], "body": m.value()})
            offsets[m.partition()] = m.offset()
        with engine.begin() as conn:
            conn.execute(insert(bench_rows), rows)
            for partition, offset in offsets.items():
                if not conn.execute(
                    bench_tracking.update().where(bench_tracking.c.partition == partition).values(last_offset=offset)
                ).rowcount:
                    conn.execute(insert(bench_tracking).values(partition=partition, last_offset=offset))
        seen += len(batch)
    rate = seen / (time.perf_counter() - t0)
    consumer.close()
    META.drop_all(engine)
    engine.dispose()
    return rate


_NAIVE_APP = """
import os, time, faust
from sqlalchemy import insert
from hub.bench.baselines import bench_rows
from hub.db.engine import make_engine
from hub.events.codec import EventCodec

engine = make_engine(os.environ["BENCH_DB"])
codec = EventCodec.load()
app = faust.App("bench-naive-" + os.environ["BENCH_RUN"], broker="kafka://" + os.environ["BENCH_KAFKA"],
                store="memory://", web_enabled=False, topic_disable_leader=True, topic_allow_declare=False,
                consumer_auto_offset_reset="earliest", broker_session_timeout=6.0,
                web_port=int(os.environ["BENCH_WEB"]), web_bind="127.0.0.1")
topic = app.topic(os.environ["BENCH_TOPIC"], key_type=bytes, value_type=bytes, key_serializer="raw",
                  value_serializer="raw")

@app.agent(topic)
async def naive(stream):
    async for value in stream:
        event = codec.decode(value)
        with engine.begin() as conn:
            conn.execute(insert(bench_rows).values(event_id=event["event_id"], child="x", body=value,
                                                   written_at=time.time()))
"""


def naive_faust_rate(
    bootstrap: str, topic: str, expected: int, database: str, workdir: Path, web_port: int, timeout: float = 120.0
) -> float:
    """Per-event agent, one transaction per event; measured from its first committed row to `expected` rows."""
    engine = make_engine(database)
    META.drop_all(engine)
    META.create_all(engine)
    script = workdir / "bench_naive_app.py"
    script.write_text(_NAIVE_APP)
    env = dict(
        os.environ,
        BENCH_DB=database,
        BENCH_KAFKA=bootstrap,
        BENCH_TOPIC=topic,
        BENCH_RUN=str(time.time_ns()),
        BENCH_WEB=str(web_port),
        PYTHONPATH=f"{workdir}{os.pathsep}{Path(__file__).resolve().parents[2]}",
    )
    log = workdir / "bench_naive_app.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "faust", "-A", "bench_naive_app", "worker", "-l", "error"]
            + ["--web-port", str(web_port)],
            env=env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline, count = time.monotonic() + timeout, 0
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                count = conn.execute(select(func.count()).select_from(bench_rows)).scalar_one()
                conn.rollback()
                if count >= expected:
                    break
                if proc.poll() is not None:
                    raise BaselineFailed(f"naive Faust agent exited with {proc.returncode}; see {log}")
                time.sleep(0.05)
            else:
                raise BaselineFailed(f"naive Faust agent wrote {count} of {expected} rows in {timeout:.0f} s: {log}")
            written = bench_rows.c.written_at
            first, last = conn.execute(select(func.min(written), func.max(written))).one()
        # rows after the first over the time between the first commit and the last: start-up is not counted
        if not last > first:
            raise BaselineFailed(f"naive Faust agent's {count} rows share one commit time; send more events")
        return (count - 1) / (last - first)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        META.drop_all(engine)
        engine.dispose()
