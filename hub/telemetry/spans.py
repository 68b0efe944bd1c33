"""The spans of one event's journey: intake → publish → process → project, then read → audit.

Span names and attributes are fixed vocabulary (step names, topics, codes, counts, roles): nothing from
the message body, the token's user or the child. The read is its own trace (a practitioner's request);
the ingest path is one trace from the socket to the projection commit, carried in Kafka headers.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue
from sqlalchemy import Engine

from hub.telemetry.event_traces import links_for
from hub.telemetry.metrics import LEVELS, PURPOSES, ROLES, count_decision, count_read, label, record_lag
from hub.telemetry.propagation import KafkaHeaders, extract, inject, replace_trace_headers, traceparent

MAX_LINKS = 32


def tracer() -> Tracer:
    return trace.get_tracer("onestory")


@contextmanager
def intake_span(connector: str, transport: str) -> Iterator[Span]:
    """A source system handing over one message (an HL7 frame, a FHIR POST, a file)."""
    attributes = {"onestory.connector": connector, "network.protocol.name": transport}
    with tracer().start_as_current_span(f"{connector} intake", kind=SpanKind.SERVER, attributes=attributes) as span:
        yield span


def record_intake(span: Span, code: str, events: int) -> None:
    span.set_attribute("onestory.intake.result", label(code))
    span.set_attribute("onestory.events", events)


@contextmanager
def publish_span(topic: str, records: int, parent: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
    """Producing to Kafka; yields the W3C headers that make the consumer's span this span's child."""
    context = extract(parent) if parent else None
    attributes: dict[str, AttributeValue] = {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.batch.message_count": records,
    }
    with tracer().start_as_current_span(
        f"publish {topic}", context=context, kind=SpanKind.PRODUCER, attributes=attributes
    ) as span:
        yield inject(trace.set_span_in_context(span))


@contextmanager
def store_span(table: str, rows: int) -> Iterator[Span]:
    """Writing straight to an SQL table from an edge (intake's dead letters), where no broker is involved."""
    attributes: dict[str, AttributeValue] = {"db.sql.table": table, "onestory.rows": rows}
    with tracer().start_as_current_span(f"store {table}", kind=SpanKind.CLIENT, attributes=attributes) as span:
        yield span


class ConsumedEvent(Protocol):
    """Where a consumed record came from (hub.worker.batch_consumer.Message)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def headers(self) -> Any: ...


class _Consumer(Protocol):
    def highwater(self, tp: Any) -> int | None: ...


R = TypeVar("R")


class TracedBatch:
    """One span per upstream trace in a consumed batch (an HL7 message's events share one), each the child
    of the context in the records' headers, so a batch step joins every trace it carries forward."""

    def __init__(self, step: str, consumer: str, events: Sequence[ConsumedEvent]) -> None:
        self.spans: dict[str | None, Span] = {}
        counts: dict[str | None, int] = {}
        for event in events:
            parent = traceparent(event.headers)
            counts[parent] = counts.get(parent, 0) + 1
            if counts[parent] > 1:
                continue
            self.spans[parent] = tracer().start_span(
                f"{step} {event.topic}",
                context=extract(event.headers) if parent else None,
                kind=SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.operation.type": step,
                    "messaging.consumer.group.name": consumer,
                    "messaging.destination.name": event.topic,
                    "messaging.destination.partition.id": str(event.partition),
                },
            )
        self.recording = any(span.is_recording() for span in self.spans.values())
        for key, span in self.spans.items():
            span.set_attribute("messaging.batch.message_count", counts[key])
            span.set_attribute("onestory.batch.size", len(events))

    def headers_for(self, headers: Sequence[tuple[str, bytes]]) -> tuple[tuple[str, bytes], ...]:
        """The same headers, re-parented on this step's span of the same trace."""
        span = self.spans.get(traceparent(list(headers)))
        if span is None:
            return tuple(headers)
        return replace_trace_headers(headers, trace.set_span_in_context(span))

    def rewrite(self, records: Sequence[R]) -> list[R]:
        """Out-records (any dataclass with ``headers``) carrying this step's spans to the next topic.

        Without a recording span (tracing off) the headers already carry the right context: left as they are.
        """
        if not self.recording:
            return list(records)
        return [dataclasses.replace(r, headers=self.headers_for(r.headers)) for r in records]  # type: ignore[type-var,attr-defined]

    def end(self, error: BaseException | None = None) -> None:
        for span in self.spans.values():
            if error is not None:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end()


@contextmanager
def traced_batch(
    step: str, consumer: str, events: Sequence[ConsumedEvent], kafka: _Consumer | None = None
) -> Iterator[TracedBatch]:
    """Spans around one batch step (``process``, ``project``); afterwards the consumer lag of its partitions."""
    traced = TracedBatch(step, consumer, events)
    try:
        yield traced
    except BaseException as exc:
        traced.end(exc)
        raise
    traced.end()
    if kafka is not None:
        observe_lag(kafka, consumer, events)


def observe_lag(kafka: _Consumer, consumer: str, events: Sequence[ConsumedEvent]) -> None:
    """Lag after the batch: the partition's high watermark minus the next offset this consumer will read."""
    from faust.types import TP  # imported here: only the worker, which runs Faust, observes lag

    last: dict[tuple[str, int], int] = {}
    for event in events:
        key = (event.topic, event.partition)
        last[key] = max(last.get(key, -1), event.offset)
    for (topic, partition), offset in last.items():
        try:
            high = kafka.highwater(TP(topic, partition))
        except (AssertionError, KeyError, AttributeError, RuntimeError):
            continue
        if isinstance(high, int):
            record_lag(consumer, topic, partition, high - offset - 1)


class ReadTrace:
    """The read span's handle: counts each disclosure decision as the route makes it."""

    def __init__(self, span: Span) -> None:
        self.span = span
        self.levels: dict[str, int] = {}

    def decided(self, level: object) -> None:
        name = label(getattr(level, "value", level), LEVELS)
        count_decision(name)
        self.levels[name] = self.levels.get(name, 0) + 1

    def link_events(self, engine: Engine, event_ids: Sequence[str]) -> None:
        """Link this read to the ingest traces of the entries it disclosed (only when the span is recorded)."""
        if self.span.is_recording():
            for link in links_for(engine, event_ids):
                self.span.add_link(link.context, link.attributes)

    def decisions(self, levels: Iterable[object] | Mapping[object, int]) -> None:
        """Count every entry's disclosure level (``none`` included: hidden entries are decisions too), adding
        each level's count once rather than one by one (a 500-entry read); a mapping is level -> count."""
        counts = levels if isinstance(levels, Mapping) else Counter(levels)
        for level, n in counts.items():
            name = label(getattr(level, "value", level), LEVELS)
            count_decision(name, n)
            self.levels[name] = self.levels.get(name, 0) + n


@contextmanager
def read_span(action: str, role: str, purpose: str, incoming: KafkaHeaders | None = None) -> Iterator[ReadTrace]:
    """A practitioner reading the record: role and purpose only (never the user, the child or the query)."""
    attributes: dict[str, AttributeValue] = {
        "onestory.read.action": label(action),
        "onestory.viewer.role": label(role, ROLES),
        "onestory.viewer.purpose": label(purpose, PURPOSES),
    }
    context = extract(incoming) if incoming else None
    with tracer().start_as_current_span(
        f"read {label(action)}", context=context, kind=SpanKind.SERVER, attributes=attributes
    ) as span:
        handle = ReadTrace(span)
        outcome = "success"
        try:
            yield handle
        except BaseException:
            outcome = "error"
            raise
        finally:
            for level, n in handle.levels.items():
                span.set_attribute(f"onestory.disclosure.{label(level)}", n)
            count_read(role, action, outcome)


@contextmanager
def audit_span(action: str, outcome: str, entries: int) -> Iterator[Span]:
    """Writing the audit record (inside the read's transaction, before the response leaves)."""
    attributes: dict[str, AttributeValue] = {
        "onestory.audit.action": label(action),
        "onestory.audit.outcome": label(outcome),
        "onestory.audit.entries": entries,
    }
    with tracer().start_as_current_span("audit append", kind=SpanKind.INTERNAL, attributes=attributes) as span:
        yield span
