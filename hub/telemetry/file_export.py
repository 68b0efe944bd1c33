"""JSON-lines exporters for spans, metrics and logs: one file that a test (or an operator) can read.

Several processes (``onestory up`` and its worker) may write the same file, so every record is one
``os.write`` of one line to a descriptor opened with ``O_APPEND``: lines never interleave.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


class JsonLinesFile:
    """An append-only file of JSON objects shared by every exporter of one process."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode()
        with self._lock:
            if self._fd >= 0:
                os.write(self._fd, line)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


class FileSpanExporter(SpanExporter):
    def __init__(self, sink: JsonLinesFile) -> None:
        self._sink = sink

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            self._sink.write({"signal": "span", **json.loads(span.to_json(indent=None))})
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """The shared file is closed by the telemetry handle, after every exporter has flushed."""


class FileMetricExporter(MetricExporter):
    def __init__(self, sink: JsonLinesFile) -> None:
        super().__init__()
        self._sink = sink

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        self._sink.write({"signal": "metrics", **json.loads(metrics_data.to_json(indent=None))})
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Nothing buffered here; the file is closed by the telemetry handle."""


class FileLogHandler(logging.Handler):
    """Writes each record through the JSON formatter, tagged so a reader can tell logs from spans."""

    def __init__(self, sink: JsonLinesFile) -> None:
        super().__init__()
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._sink.write({"signal": "log", **json.loads(self.format(record))})
        except (ValueError, OSError):
            self.handleError(record)
