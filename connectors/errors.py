"""Connector errors typed by phase: the runner decides ACK code, HTTP status and dead-letter from the type."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base: carries a precise, personal-data-free reason and where in the input it applies."""

    phase = "unknown"

    def __init__(self, reason: str, location: str | None = None) -> None:
        super().__init__(reason if location is None else f"{location}: {reason}")
        self.reason = reason
        self.location = location


class ParseError(ConnectorError):
    """The bytes are not a well-formed message of the expected format (HL7 AR, HTTP 400)."""

    phase = "parse"


class MappingError(ConnectorError):
    """Well-formed, but cannot become a canonical event, e.g. no usable patient identifier (HL7 AE, HTTP 422)."""

    phase = "mapping"


class OutOfScope(MappingError):
    """Well-formed, but not something the story takes (a lab result, an order, a pending transfer): refused
    with the reason it is out of scope (HL7 AR, HTTP 422) and kept in the dead-letter store like any refusal."""


class LimitExceeded(ConnectorError):
    """The input is over one of the hub's limits (size, nesting, field length): refused and kept."""

    phase = "limit"


class EventTooLarge(LimitExceeded):
    """An event made from the input is larger than one broker record may be (HL7 AR, HTTP 422; kept)."""
