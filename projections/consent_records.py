"""Consent events (as the source recorded them) → consent records the consent engine reads. Pure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from consent_engine import Consenter, ConsentRecord, ConsentStatus
from projections.rules import payload_of

CONSENT_KINDS = frozenset({"consent.given", "consent.withdrawn", "consent.refused"})
_STATUS = {"consent.given": "given", "consent.withdrawn": "withdrawn", "consent.refused": "refused"}


def consent_row(event: dict[str, Any]) -> dict[str, Any]:
    p = payload_of(event)
    return {
        "consent_id": str(p.get("consent_id") or event["event_id"]),
        "child_id": event["child_id"],
        "event_id": event["event_id"],
        "status": str(p.get("status") or _STATUS[event["kind"]]),
        "given_by": str(p.get("given_by") or "parental-responsibility"),
        "competent": p.get("competent"),
        "organisations": list(p.get("recipient_organisations") or []),
        "organisation_types": list(p.get("recipient_organisation_types") or []),
        "categories": list(p.get("categories") or []),
        "purposes": list(p.get("purposes") or []),
        "period_start": p.get("period_start"),
        "period_end": p.get("period_end"),
        "withdraws": p.get("withdraws"),
        "recorded_at": event["recorded_at"],
        "source_org": event["source"]["organisation"],
    }


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


_RECORDS: dict[tuple[Any, ...], ConsentRecord] = {}
_RECORDS_MAX = 100_000


def _exactly(value: Any) -> Any:
    """A datetime with its zone: equal instants in different zones must not share a cached record."""
    return (value, value.tzinfo) if isinstance(value, datetime) else value


def to_record(row: dict[str, Any]) -> ConsentRecord:
    """A stored row as the engine's ConsentRecord. Scopes pass through as recorded: an unscoped *given* consent
    opens nothing (fail closed); an unscoped withdrawal or refusal closes everything.

    Records are immutable and the projector rebuilds them for every touched child in every batch, so a row
    seen before (every value `_record` reads, alike) gets the record built then; validating and building one
    costs ten times its key.
    """
    key = (
        row["consent_id"],
        row["status"],
        row["given_by"],
        _exactly(row["recorded_at"]),
        row["competent"],
        tuple(row["organisations"]),
        tuple(row["organisation_types"]),
        tuple(row["categories"]),
        tuple(row["purposes"]),
        _exactly(row["period_start"]),
        _exactly(row["period_end"]),
        row["withdraws"],
        row["child_id"],
    )
    record = _RECORDS.get(key)
    if record is None:
        if len(_RECORDS) >= _RECORDS_MAX:
            _RECORDS.clear()
        record = _RECORDS[key] = _record(row)
    return record


def _record(row: dict[str, Any]) -> ConsentRecord:
    return ConsentRecord(
        id=row["consent_id"],
        status=ConsentStatus(row["status"]),
        by=Consenter(row["given_by"]),
        recorded_at=_aware(row["recorded_at"]) or datetime.min.replace(tzinfo=UTC),
        competent=bool(row["competent"]),
        organisations=frozenset(row["organisations"]),
        organisation_types=frozenset(row["organisation_types"]),
        categories=frozenset(row["categories"]),
        purposes=frozenset(row["purposes"]),
        start=_aware(row["period_start"]),
        end=_aware(row["period_end"]),
        withdraws=row["withdraws"],
        child_id=row["child_id"],
    )
