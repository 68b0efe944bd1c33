"""Structured logs: one JSON object a line, carrying the trace and span ids of the current span.

Log lines must not carry personal data either. Call sites log codes, counts and kinds, never message
content; as a second line of defence the formatter drops the query string from HTTP access-log lines,
because FHIR searches put identifiers there (``Patient?identifier=...|<NHS number>``).
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

ACCESS_LOGGERS = ("uvicorn.access",)
QUIET_LOGGERS = ("httpx", "httpcore", "urllib3")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def _without_query(path: object) -> object:
    return path.split("?", 1)[0] + "?…" if isinstance(path, str) and "?" in path else path


def scrub_access_record(record: logging.LogRecord) -> None:
    """uvicorn's access args are (client, method, path with query, http version, status)."""
    if record.name in ACCESS_LOGGERS and isinstance(record.args, tuple) and len(record.args) >= 3:
        args = list(record.args)
        args[2] = _without_query(args[2])
        record.args = tuple(args)


class JsonFormatter(logging.Formatter):
    """Formats a record as JSON with ``trace_id``/``span_id`` so logs join up with traces in any backend."""

    def __init__(self, service: str = "onestory") -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        scrub_access_record(record)
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            out["trace_id"] = format(context.trace_id, "032x")
            out["span_id"] = format(context.span_id, "016x")
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class ScrubbingTextFormatter(logging.Formatter):
    """The plain-text format for developers, with the same access-log scrubbing."""

    def format(self, record: logging.LogRecord) -> str:
        scrub_access_record(record)
        return super().format(record)


def logging_config(level: str, fmt: str, service: str, extra: list[logging.Handler] | None = None) -> dict[str, Any]:
    """A ``dictConfig`` for the root logger on stderr; Faust's worker takes it as its ``logging_config``."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter, "service": service}
        if fmt == "json"
        else {"()": ScrubbingTextFormatter, "fmt": TEXT_FORMAT}
    )
    handlers: dict[str, Any] = {
        "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "onestory"}
    }
    for i, handler in enumerate(extra or []):
        handlers[f"extra{i}"] = {"()": lambda h=handler: h}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"onestory": formatter},
        "handlers": handlers,
        "root": {"level": level.upper(), "handlers": list(handlers)},
        # HTTP clients log whole request URLs at info: keep them quiet unless something goes wrong.
        "loggers": {name: {"level": "WARNING"} for name in QUIET_LOGGERS},
    }


def configure_logging(level: str, fmt: str, service: str, extra: list[logging.Handler] | None = None) -> None:
    logging.config.dictConfig(logging_config(level, fmt, service, extra))
