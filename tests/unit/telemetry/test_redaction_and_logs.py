"""What libraries add to spans and log lines is scrubbed: queries, concrete paths, exception messages."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind

from hub.telemetry.logging import JsonFormatter, logging_config
from hub.telemetry.redaction import scrub
from hub.telemetry.settings import TelemetrySettings
from tests.unit.telemetry.conftest import Captured

NHS = "9434765870"


def test_http_span_keeps_the_route_and_loses_the_query_path_and_message(captured: Captured) -> None:
    tracer = captured.provider.get_tracer("fastapi")
    attributes = {"url.path": "/api/children/c-123/timeline", "url.query": f"identifier=x%7C{NHS}"}
    with tracer.start_as_current_span("GET /api/children/{child_id}/timeline", kind=SpanKind.SERVER) as span:
        for key, value in attributes.items():
            span.set_attribute(key, value)
        span.set_attribute("http.route", "/api/children/{child_id}/timeline")
        span.record_exception(ValueError(f"no child with NHS number {NHS}"))
    exported = captured.span("GET /api/children/{child_id}/timeline")
    attrs = dict(exported.attributes or {})
    assert "url.query" not in attrs
    assert attrs["url.path"] == "/api/children/{child_id}/timeline"
    (event,) = exported.events
    assert dict(event.attributes or {}) == {"exception.type": "ValueError", "exception.escaped": "False"}
    assert NHS not in exported.to_json() and "c-123" not in exported.to_json()


def test_scrub_drops_a_path_without_a_route() -> None:
    assert scrub({"url.path": "/fhir/Patient/abc", "http.request.method": "GET"}) == {"http.request.method": "GET"}


def _record(name: str, msg: str, args: tuple[object, ...]) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)


def test_json_logs_carry_trace_ids_of_the_current_span(captured: Captured) -> None:
    formatter = JsonFormatter("onestory-test")
    with captured.provider.get_tracer("t").start_as_current_span("work") as span:
        line = json.loads(formatter.format(_record("hub.x", "accepted %s", ("ADT^A01",))))
    assert line["message"] == "accepted ADT^A01" and line["service"] == "onestory-test"
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert line["span_id"] == format(span.get_span_context().span_id, "016x")
    assert "trace_id" not in json.loads(formatter.format(_record("hub.x", "outside", ())))


def test_access_log_lines_lose_their_query_string() -> None:
    record = _record(
        "uvicorn.access",
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/fhir/Patient?identifier=nhs%7C{NHS}", "1.1", 200),
    )
    line = json.loads(JsonFormatter().format(record))
    assert NHS not in line["message"] and "/fhir/Patient?" in line["message"]


def test_http_client_loggers_are_kept_quiet() -> None:
    config = logging_config("info", "json", "svc")
    assert config["loggers"]["httpx"] == {"level": "WARNING"}
    assert config["root"]["level"] == "INFO"


@pytest.mark.parametrize(
    ("env", "traces", "metrics"),
    [
        ({}, [], []),
        ({"exporter_otlp_endpoint": "http://collector:4318"}, ["otlp"], ["otlp"]),
        ({"traces_exporter": "console,otlp", "metrics_exporter": "none"}, ["console", "otlp"], []),
        ({"traces_exporter": "none", "exporter_otlp_endpoint": "http://c:4318"}, [], ["otlp"]),
    ],
)
def test_exporters_default_to_none_and_follow_the_otel_variables(
    env: dict[str, str], traces: list[str], metrics: list[str]
) -> None:
    settings = TelemetrySettings(**env)  # type: ignore[arg-type]
    assert settings.exporters("traces") == traces and settings.exporters("metrics") == metrics


SCRIPT = """
import logging, sys
from pathlib import Path
from hub.settings import HubSettings
from hub.telemetry.setup import configure_telemetry
from hub.telemetry.spans import intake_span
from hub.telemetry.metrics import count_events_in
handle = configure_telemetry("onestory-probe", HubSettings(telemetry_file=Path(sys.argv[1]), log_level="info"))
with intake_span("hl7v2", "mllp"):
    logging.getLogger("hub.probe").info("inside the intake span")
count_events_in([{"source": {"organisation_type": "camhs"}}])
handle.shutdown()
"""


def test_the_telemetry_file_gets_spans_metrics_and_logs_from_a_configured_process(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.jsonl"
    env = {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in path.read_text().splitlines()]
    by_signal = {r["signal"] for r in records}
    assert by_signal == {"span", "metrics", "log"}
    (span,) = [r for r in records if r["signal"] == "span"]
    (log,) = [r for r in records if r["signal"] == "log" and r["logger"] == "hub.probe"]
    assert span["name"] == "hl7v2 intake" and span["resource"]["attributes"]["service.name"] == "onestory-probe"
    assert log["trace_id"] == span["context"]["trace_id"].removeprefix("0x")
    assert json.loads(done.stderr.splitlines()[-1])["message"] == "inside the intake span"


def test_an_unknown_exporter_is_refused_before_anything_is_installed(tmp_path: Path) -> None:
    script = (
        "from hub.settings import HubSettings\n"
        "from hub.telemetry.setup import TelemetryConfigError, configure_telemetry\n"
        "try:\n    configure_telemetry('x', HubSettings())\n"
        "except TelemetryConfigError as exc:\n    print('refused', exc)\n"
    )
    env = {"OTEL_TRACES_EXPORTER": "jaeger", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.stdout.startswith("refused unknown OTEL_TRACES_EXPORTER 'jaeger'"), done.stderr
