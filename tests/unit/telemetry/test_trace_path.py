"""One event's trace: intake → publish → process → project, carried in Kafka headers between the steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from hub.kafka.producer import OutRecord
from hub.telemetry.propagation import header_dict
from hub.telemetry.spans import intake_span, publish_span, record_intake, traced_batch
from tests.unit.telemetry.conftest import Captured


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    headers: Any = field(default_factory=list)


class Highwaters:
    def __init__(self, marks: dict[tuple[str, int], int]) -> None:
        self.marks = marks

    def highwater(self, tp: Any) -> int | None:
        return self.marks.get((tp.topic, tp.partition))


def _published(connector: str = "hl7v2") -> tuple[list[tuple[str, bytes]], str]:
    """Headers as the publisher writes them, and the intake span's trace id."""
    with intake_span(connector, "mllp") as span, publish_span("onestory.intake.v1", 2) as carrier:
        record_intake(span, "AA", 2)
        trace_id = format(span.get_span_context().trace_id, "032x")
    return [(k, v.encode()) for k, v in carrier.items()], trace_id


def test_the_steps_chain_into_one_trace(captured: Captured) -> None:
    headers, trace_id = _published()
    consumed = [
        Message("onestory.intake.v1", 0, 10, headers),
        Message("onestory.intake.v1", 0, 11, headers),
    ]
    with traced_batch("process", "identity", consumed) as traced:
        out = traced.rewrite([OutRecord("onestory.events.v1", b"child", b"body", tuple(headers))])
    onward = [Message("onestory.events.v1", 3, 0, list(out[0].headers))]
    with traced_batch("project", "timeline", onward):
        pass

    intake = captured.span("hl7v2 intake")
    publish = captured.span("publish onestory.intake.v1")
    process = captured.span("process onestory.intake.v1")
    project = captured.span("project onestory.events.v1")
    chain = [intake, publish, process, project]
    assert {format(s.context.trace_id, "032x") for s in chain} == {trace_id}
    for parent, child in zip(chain, chain[1:], strict=False):
        assert child.parent is not None and child.parent.span_id == parent.context.span_id
    assert [s.kind for s in chain] == [SpanKind.SERVER, SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.CONSUMER]
    assert process.attributes is not None and process.attributes["messaging.batch.message_count"] == 2
    assert intake.attributes is not None and intake.attributes["onestory.intake.result"] == "aa"


def test_a_batch_gets_one_span_per_upstream_trace_and_keeps_other_headers(captured: Captured) -> None:
    first, _ = _published()
    second, _ = _published()
    extra = [("onestory-connector", b"hl7v2")]
    batch = [Message("onestory.intake.v1", 0, i, h + extra) for i, h in enumerate([first, second, first])]
    batch.append(Message("onestory.intake.v1", 1, 0, extra))  # no trace context: a root span of its own
    with traced_batch("process", "identity", batch) as traced:
        records = [OutRecord("onestory.events.v1", b"k", b"v", tuple(ev.headers)) for ev in batch]
        out = traced.rewrite(records)
    processes = [s for s in captured.spans() if s.name == "process onestory.intake.v1"]
    assert len(processes) == 3
    assert sum(1 for s in processes if s.parent is None) == 1
    for record in out:
        assert header_dict(record.headers)["onestory-connector"] == "hl7v2"
    spans_by_id = {s.context.span_id: s for s in processes}
    for original, record in zip(records, out, strict=True):
        parent_of_next = int(header_dict(record.headers)["traceparent"].split("-")[2], 16)
        assert parent_of_next in spans_by_id
        if "traceparent" in header_dict(original.headers):
            assert header_dict(original.headers)["traceparent"] != header_dict(record.headers)["traceparent"]


def test_a_failed_step_marks_its_spans_as_errors(captured: Captured) -> None:
    headers, _ = _published()
    with pytest.raises(RuntimeError), traced_batch("project", "timeline", [Message("t", 0, 0, headers)]):
        raise RuntimeError("database went away")
    span = captured.span("project t")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description is None  # dropped by the redacting processor: messages may carry data
    assert all("exception.message" not in (e.attributes or {}) for e in span.events)


def test_consumer_lag_is_the_high_watermark_minus_the_next_offset(captured: Captured) -> None:
    batch = [Message("onestory.events.v1", 2, o) for o in (40, 41, 42)]
    with traced_batch("project", "timeline", batch, Highwaters({("onestory.events.v1", 2): 50})):
        pass
    points = captured.points("onestory.consumer.lag")
    assert [(dict(p.attributes), p.value) for p in points] == [
        ({"consumer": "timeline", "topic": "onestory.events.v1", "partition": 2}, 7)
    ]


def test_publishing_under_an_upstream_context_continues_its_trace(captured: Captured) -> None:
    upstream = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with publish_span("onestory.intake.v1", 1, parent={"traceparent": upstream}) as carrier:
        pass
    span = captured.span("publish onestory.intake.v1")
    assert format(span.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert carrier["traceparent"].split("-")[2] == format(span.context.span_id, "016x")
