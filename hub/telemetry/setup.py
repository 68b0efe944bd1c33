"""Providers from the standard OTEL_* variables, JSON logs, and the optional JSON-lines telemetry file.

Exporters default to none: without one no SDK provider is installed, so spans and instruments stay the
API's no-op objects and cost next to nothing on the hot path. ``console`` prints to stderr; ``otlp`` sends
over OTLP/HTTP to ``OTEL_EXPORTER_OTLP_ENDPOINT``. ``ONESTORY_TELEMETRY_FILE`` adds a JSON-lines copy of
every span, metric export and log record (what the no-personal-data test reads).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

from hub.settings import HubSettings
from hub.telemetry.file_export import FileLogHandler, FileMetricExporter, FileSpanExporter, JsonLinesFile
from hub.telemetry.logging import JsonFormatter, configure_logging, logging_config
from hub.telemetry.redaction import RedactingSpanProcessor

log = logging.getLogger(__name__)


class TelemetryConfigError(ValueError):
    """An exporter name OneStory does not know: refuse to start rather than run blind."""


@dataclass
class Telemetry:
    """What ``configure_telemetry`` installed; ``shutdown()`` flushes and closes it at process end."""

    service: str
    hub: HubSettings  # log level and format, for a framework that configures logging itself
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    sink: JsonLinesFile | None = None
    log_handlers: list[logging.Handler] = field(default_factory=list)

    def logging_config(self) -> dict[str, Any]:
        """For processes whose framework configures logging itself (Faust's worker)."""
        return logging_config(self.hub.log_level, self.hub.log_format, self.service, self.log_handlers)

    def shutdown(self) -> None:
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
        if self.meter_provider is not None:
            self.meter_provider.shutdown()
        for handler in self.log_handlers:
            logging.getLogger().removeHandler(handler)
        if self.sink is not None:
            self.sink.close()


def _span_processors(names: list[str], sink: JsonLinesFile | None) -> list[SpanProcessor]:
    processors: list[SpanProcessor] = []
    for name in names:
        if name == "console":
            processors.append(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
        elif name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            processors.append(BatchSpanProcessor(OTLPSpanExporter()))
        else:
            raise TelemetryConfigError(f"unknown OTEL_TRACES_EXPORTER {name!r} (use none, console or otlp)")
    if sink is not None:
        processors.append(SimpleSpanProcessor(FileSpanExporter(sink)))
    return processors


def _metric_readers(names: list[str], sink: JsonLinesFile | None, interval_ms: int) -> list[MetricReader]:
    readers: list[MetricReader] = []
    for name in names:
        if name == "console":
            readers.append(PeriodicExportingMetricReader(ConsoleMetricExporter(out=sys.stderr), interval_ms))
        elif name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(), interval_ms))
        else:
            raise TelemetryConfigError(f"unknown OTEL_METRICS_EXPORTER {name!r} (use none, console or otlp)")
    if sink is not None:
        readers.append(PeriodicExportingMetricReader(FileMetricExporter(sink), interval_ms))
    return readers


def configure_telemetry(service: str, settings: HubSettings, *, configure_logs: bool = True) -> Telemetry:
    """Install providers and logging for this process; call once, from the command's entry point."""
    otel = settings.telemetry
    name = otel.service_name or service
    sink = JsonLinesFile(settings.telemetry_file) if settings.telemetry_file else None
    handle = Telemetry(service=name, hub=settings, sink=sink)
    resource = Resource.create({SERVICE_NAME: name})
    processors = _span_processors(otel.exporters("traces"), sink)
    if processors:
        handle.tracer_provider = TracerProvider(resource=resource)
        for processor in processors:
            handle.tracer_provider.add_span_processor(RedactingSpanProcessor(processor))
        trace.set_tracer_provider(handle.tracer_provider)
    readers = _metric_readers(otel.exporters("metrics"), sink, otel.metric_export_interval)
    if readers:
        handle.meter_provider = MeterProvider(resource=resource, metric_readers=readers)
        metrics.set_meter_provider(handle.meter_provider)
    if sink is not None:
        file_handler = FileLogHandler(sink)
        file_handler.setFormatter(JsonFormatter(name))
        handle.log_handlers.append(file_handler)
    if configure_logs:
        configure_logging(settings.log_level, settings.log_format, name, handle.log_handlers)
    log.debug("telemetry for %s: traces=%s metrics=%s", name, bool(processors), bool(readers))
    return handle
