"""In-memory span exporter and metric reader, swapped in for the process-wide providers per test.

The global OpenTelemetry providers can be set only once per process, and setting them would switch on
FastAPI's own telemetry for every other test in the session; so the tests replace the two module-level
accessors OneStory's code goes through (spans.tracer, metrics.hub_metrics) instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hub.telemetry import metrics, spans
from hub.telemetry.redaction import RedactingSpanProcessor


@dataclass
class Captured:
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    provider: TracerProvider

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        found = [s for s in self.spans() if s.name == name]
        assert found, f"no span {name!r} in {[s.name for s in self.spans()]}"
        return found[0]

    def points(self, metric: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        found: list[Any] = []
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name == metric:
                        found += list(m.data.data_points)
        return found


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[Captured]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(RedactingSpanProcessor(SimpleSpanProcessor(exporter)))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    instruments = metrics.HubMetrics.create(meter_provider.get_meter("test"))
    monkeypatch.setattr(spans, "tracer", lambda: provider.get_tracer("test"))
    monkeypatch.setattr(metrics, "hub_metrics", lambda: instruments)
    yield Captured(exporter, reader, provider)
    provider.shutdown()
    meter_provider.shutdown()
