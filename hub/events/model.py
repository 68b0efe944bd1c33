"""The Python shape of a canonical event (plain dicts matching onestory.Envelope, typed for the checker).

Events stay plain dicts because fastavro reads and writes dicts directly: no conversion on the hot path.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from typing import Any, Literal, TypedDict

EVENT_ID_NAMESPACE = uuid.UUID("5d1f0c8e-4b7a-4d3e-9a43-0e5b7f1c2a90")


class SourceRef(TypedDict):
    system: str
    organisation: str
    organisation_type: str | None
    record_id: str


class Identifier(TypedDict):
    system: str
    value: str
    validated: bool


class Subject(TypedDict):
    identifiers: list[Identifier]
    given_name: str | None
    family_name: str | None
    birth_date: date | None
    sex: str | None
    postcode: str | None


class SharingBasis(TypedDict):
    kind: Literal["consent", "lawful_basis", "none"]
    reference: str | None
    decided_by: str | None
    reason: str | None


class Envelope(TypedDict):
    event_id: str
    kind: str
    category: str
    child_id: str | None
    source: SourceRef
    occurred_at: datetime
    recorded_at: datetime
    subject: Subject
    sensitivity_labels: list[str]
    sharing_basis: SharingBasis
    correlation_ids: dict[str, str]
    summary: str
    payload: tuple[str, dict[str, Any]]  # (Avro record full name, fields)


def event_id(connector: str, record_key: str, content: bytes | str, index: int = 0) -> str:
    """Same source record and same content → same id, so re-sends and replays are no-ops downstream."""
    digest = hashlib.sha256(content.encode() if isinstance(content, str) else content).hexdigest()
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{connector}|{record_key}|{digest}|{index}"))
