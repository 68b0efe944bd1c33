"""What a pure connector hands its transport: the events to publish and the issues to report (and keep).

A row-oriented source (a CSV export) may be partly good: good rows become events, each bad row becomes an
Issue carrying its own bytes so it can be dead-lettered and replayed alone. A message-oriented source
(one FHIR Bundle) is all or nothing and raises a ConnectorError instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.errors import ConnectorError
from hub.events.model import Envelope


class OrganisationMismatch(ConnectorError):
    """The input says it comes from an organisation other than the one the caller's token is bound to (403)."""

    phase = "authorisation"


@dataclass(frozen=True)
class Issue:
    """A problem with part of the input; `body` is that part alone (kept in dead letter), None for notes."""

    location: str
    reason: str
    severity: str = "error"  # error | information
    phase: str = "mapping"
    body: bytes | None = None
    content_type: str | None = None


@dataclass
class Batch:
    events: list[Envelope] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]


def check_organisation(declared: object, bound: str, location: str) -> str:
    """A sender may only publish as the organisation its token is bound to; undeclared means that one."""
    text = str(declared).strip() if declared is not None else ""
    if text and text != bound:
        raise OrganisationMismatch(
            "the input names a source organisation other than the one this token is bound to", location
        )
    return bound
