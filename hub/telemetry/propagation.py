"""W3C trace context in Kafka headers: connectors inject it, processors extract it and pass it on.

Kafka headers are a list of ``(str, bytes)`` pairs (confluent-kafka and aiokafka alike); Faust may hand
them over as a dict. Only the W3C ``traceparent``/``tracestate`` keys are written, so the headers carry
ids and nothing about the child.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

KafkaHeaders = Iterable[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None]
TRACE_KEYS = ("traceparent", "tracestate")
_W3C = TraceContextTextMapPropagator()


def header_dict(headers: KafkaHeaders | None) -> dict[str, str]:
    """Kafka headers as ``{name: text}`` (the last value wins, as for HTTP)."""
    if not headers:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for key, value in items:
        if value is None:
            continue
        out[key] = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return out


class _DictGetter(Getter[dict[str, str]]):
    def get(self, carrier: dict[str, str], key: str) -> list[str] | None:
        value = carrier.get(key)
        return [value] if value is not None else None

    def keys(self, carrier: dict[str, str]) -> list[str]:
        return list(carrier)


def extract(headers: KafkaHeaders | None) -> Context:
    """The trace context carried by a record's headers (an empty context when there is none)."""
    return _W3C.extract(header_dict(headers), getter=_DictGetter())


def inject(context: Context | None = None) -> dict[str, str]:
    """The current (or given) span's context as W3C headers, ready for ``Publisher.publish(trace_headers=)``."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context=context)
    return carrier


def inject_kafka(context: Context | None = None) -> tuple[tuple[str, bytes], ...]:
    """The same, as Kafka header pairs."""
    return tuple((k, v.encode()) for k, v in inject(context).items())


def replace_trace_headers(
    headers: Iterable[tuple[str, bytes]], context: Context | None = None
) -> tuple[tuple[str, bytes], ...]:
    """Copy headers with the trace keys swapped for ``context``'s, so the next hop is this span's child."""
    kept = tuple((k, v) for k, v in headers if k not in TRACE_KEYS)
    return kept + inject_kafka(context)


def traceparent(headers: KafkaHeaders | None) -> str | None:
    """The ``traceparent`` header alone: called per record on the hot path, so no dict is built."""
    if not headers:
        return None
    if isinstance(headers, Mapping):
        value = headers.get("traceparent")
    else:
        value = None
        for key, candidate in headers:
            if key == "traceparent":
                value = candidate
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
