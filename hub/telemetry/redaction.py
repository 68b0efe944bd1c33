"""A span processor that removes attributes which can carry personal data, whoever set them.

OneStory's own spans carry only fixed vocabulary, but libraries add their own: FastAPI's native telemetry
records ``url.query`` (FHIR searches put NHS numbers there) and ``url.path`` (child ids), and exception
events carry the exception's message. Every exporter sits behind this processor, so none of that leaves
the process: paths become the route template, queries and messages are dropped, the type is kept.
"""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Status
from opentelemetry.util.types import Attributes

DROPPED = frozenset(
    {
        "url.query",
        "url.full",
        "url.fragment",
        "http.url",
        "http.target",
        "http.request.body",
        "http.response.body",
        "exception.message",
        "exception.stacktrace",
        "db.statement",
        "db.query.text",
        "messaging.message.body",
        "messaging.kafka.message.key",
        "user.id",
        "user.name",
        "enduser.id",
        "client.address",
        "network.peer.address",
    }
)
PATH_KEYS = ("url.path", "http.path")


def scrub(attributes: Attributes) -> dict[str, object]:
    """Attributes minus the dropped keys; a concrete path is replaced by its route template (or dropped)."""
    attrs: dict[str, object] = dict(attributes or {})
    for key in DROPPED & attrs.keys():
        del attrs[key]
    route = attrs.get("http.route")
    for key in PATH_KEYS:
        if key in attrs:
            if isinstance(route, str):
                attrs[key] = route
            else:
                del attrs[key]
    return attrs


def scrubbed(span: ReadableSpan) -> ReadableSpan:
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=scrub(span.attributes),  # type: ignore[arg-type]
        events=[Event(e.name, scrub(e.attributes), e.timestamp) for e in span.events],  # type: ignore[arg-type]
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingSpanProcessor(SpanProcessor):
    """Hands the inner processor (and so its exporter) a scrubbed copy of every finished span."""

    def __init__(self, inner: SpanProcessor) -> None:
        self._inner = inner

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self._inner.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self._inner.on_end(scrubbed(span))

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)
