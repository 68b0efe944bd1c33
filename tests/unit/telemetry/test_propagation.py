"""W3C trace context in Kafka headers: lists of (str, bytes), dicts, odd values."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from hub.telemetry.propagation import extract, header_dict, inject, inject_kafka, replace_trace_headers, traceparent

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_header_dict_accepts_kafka_lists_dicts_and_skips_nulls() -> None:
    assert header_dict([("traceparent", PARENT.encode()), ("x", None), ("y", "text")]) == {
        "traceparent": PARENT,
        "y": "text",
    }
    assert header_dict({"traceparent": PARENT.encode()}) == {"traceparent": PARENT}
    assert header_dict(None) == {} and traceparent([]) is None


def test_extract_then_inject_round_trips_through_a_child_span() -> None:
    tracer = TracerProvider().get_tracer("test")
    context = extract([("traceparent", PARENT.encode())])
    with tracer.start_as_current_span("child", context=context) as span:
        carried = inject()
        assert dict(inject_kafka()) == {k: v.encode() for k, v in carried.items()}
    version, trace_id, span_id, flags = carried["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", "4bf92f3577b34da6a3ce929d0e0e4736", "01")
    assert span_id == format(span.get_span_context().span_id, "016x")


def test_no_context_injects_nothing_and_extracts_an_invalid_span() -> None:
    assert inject() == {}
    assert not trace.get_current_span(extract([])).get_span_context().is_valid


def test_replace_trace_headers_keeps_everything_else() -> None:
    tracer = TracerProvider().get_tracer("test")
    headers = [("traceparent", PARENT.encode()), ("tracestate", b"a=b"), ("onestory-phase", b"parse")]
    with tracer.start_as_current_span("next") as span:
        replaced = dict(replace_trace_headers(headers))
    assert replaced["onestory-phase"] == b"parse"
    assert "tracestate" not in replaced
    assert replaced["traceparent"].decode().split("-")[2] == format(span.get_span_context().span_id, "016x")
