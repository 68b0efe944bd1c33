"""Test helpers for outbound sharing: read an organisation's feed topic, and a real rest-hook receiver."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from hub.kafka.embedded_broker import free_port
from hub.outbound.dispatch import out_topic
from hub.outbound.feed_codec import FeedCodec
from hub.outbound.signing import HEADER, SignatureError, verify


class FeedReader:
    """Everything on onestory.out.<org>.v1 from the beginning, decoded, with the held state folded."""

    def __init__(self, bootstrap: str, organisation: str, partitions: int = 6) -> None:
        self.codec = FeedCodec.load()
        self.records: list[tuple[bytes, dict[str, Any]]] = []
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"test-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        topic = out_topic(organisation)
        self.consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])

    def poll(self, seconds: float = 0.5) -> int:
        deadline = time.monotonic() + seconds
        got = 0
        while time.monotonic() < deadline:
            for msg in self.consumer.consume(500, timeout=0.1):
                key, value = msg.key(), msg.value()
                if msg.error() is None and key is not None and value is not None:
                    self.records.append((key, self.codec.decode(value)))
                    got += 1
        return got

    def held(self) -> dict[str, str]:
        """entry id -> level, after applying every disclose and retract in order."""
        out: dict[str, str] = {}
        for _key, rec in self.records:
            if rec["op"] == "disclose":
                out[rec["entry_id"]] = rec["level"]
            elif rec["op"] == "retract":
                out.pop(rec["entry_id"], None)
        return out

    def of(self, op: str) -> list[dict[str, Any]]:
        return [rec for _key, rec in self.records if rec["op"] == op]

    def close(self) -> None:
        self.consumer.close()


@dataclass
class Receiver:
    """A rest-hook endpoint on a free loopback port that can be told to fail; verifies every signature."""

    secret: str | None = None
    fail_next: int = 0
    always_fail: bool = False
    accepted: list[dict[str, Any]] = field(default_factory=list)
    failed: int = 0
    bad_signatures: int = 0
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    if receiver.always_fail or receiver.fail_next > 0:
                        receiver.fail_next = max(receiver.fail_next - 1, 0)
                        receiver.failed += 1
                        self.send_response(503)
                        self.end_headers()
                        return
                    try:
                        verify(receiver.secret or "", body, self.headers.get(HEADER), int(time.time()))
                    except SignatureError:
                        receiver.bad_signatures += 1
                        self.send_response(401)
                        self.end_headers()
                        return
                    receiver.accepted.append(
                        {"delivery": self.headers.get("X-OneStory-Delivery"), "bundle": json.loads(body)}
                    )
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                return

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
