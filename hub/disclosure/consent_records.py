"""Consent and competence events (as the source recorded them) → the consent records the consent engine reads.

A young person's records carry what the hub knows of their competence (`CompetenceFacts`): every
`competence.assessed` event about them and their date of birth from the identity registry. The engine works out
at each decision moment whether their consent, refusal or withdrawal counts (consent_engine.consent_state).

The Consent payload's own `competent` flag: `true` on a young person's record from an organisation other than
the hub counts as an assessment by that organisation (competent, for the record's categories) when it was
recorded; from the hub's own self-referral page it never does, and `false` counts as nothing (a refusal stays
respected until a competence.assessed event says the young person was not competent). Pure, apart from
`birth_dates`, which reads the identity registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, select

from consent_engine import (
    ANY,
    CompetenceAssessment,
    CompetenceFacts,
    CompetenceOutcome,
    Consenter,
    ConsentRecord,
    ConsentStatus,
)
from hub.db.identity_tables import identity_records
from hub.disclosure.rules import payload_of

CONSENT_KINDS = frozenset({"consent.given", "consent.withdrawn", "consent.refused"})
COMPETENCE_KINDS = frozenset({"competence.assessed"})
CONSENT_STATE_KINDS = CONSENT_KINDS | COMPETENCE_KINDS
"""Events that change whose consent counts: each re-projects the child (and re-decides what feeds send)."""
_STATUS = {"consent.given": "given", "consent.withdrawn": "withdrawn", "consent.refused": "refused"}
_HUB = "hub"
_YOUNG = Consenter.YOUNG_PERSON.value


def consent_row(event: dict[str, Any]) -> dict[str, Any]:
    p = payload_of(event)
    given_by = str(p.get("given_by") or "parental-responsibility")
    source = event["source"]
    counted = p.get("competent") is True and given_by == _YOUNG and source.get("organisation_type") != _HUB
    return {
        "consent_id": str(p.get("consent_id") or event["event_id"]),
        "child_id": event["child_id"],
        "event_id": event["event_id"],
        "status": str(p.get("status") or _STATUS[event["kind"]]),
        "given_by": given_by,
        "competent": True if counted else None,
        "organisations": list(p.get("recipient_organisations") or []),
        "organisation_types": list(p.get("recipient_organisation_types") or []),
        "categories": list(p.get("categories") or []),
        "purposes": list(p.get("purposes") or []),
        "period_start": p.get("period_start"),
        "period_end": p.get("period_end"),
        "withdraws": p.get("withdraws"),
        "recorded_at": event["recorded_at"],
        "source_org": source["organisation"],
    }


def competence_row(event: dict[str, Any]) -> dict[str, Any]:
    """A `competence.assessed` event as a row of the child's competence assessments."""
    p = payload_of(event)
    assessment_id = str(p.get("assessment_id") or event["event_id"])
    organisation = event["source"]["organisation"]
    return {
        "row_id": f"{organisation}|{assessment_id}"[:200],
        "child_id": event["child_id"],
        "event_id": event["event_id"],
        "assessment_id": assessment_id,
        "outcome": str(p.get("outcome") or ""),
        "decision": str(p.get("decision") or "information-sharing"),
        "categories": list(p.get("categories") or []),
        "assessed_by": str(p.get("assessed_by") or organisation),
        "assessed_at": p.get("assessed_at") or event["occurred_at"],
        "framework": str(p.get("framework") or "gillick"),
        "recorded_at": event["recorded_at"],
        "source_org": organisation,
    }


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _assessment(row: dict[str, Any]) -> CompetenceAssessment | None:
    try:
        outcome = CompetenceOutcome(row["outcome"])
    except ValueError:
        return None  # an outcome the engine does not know says nothing: refusals stay respected (fail closed)
    by = row["assessed_by"]
    if row["source_org"] and row["source_org"] not in by:
        by = f"{by} ({row['source_org']})"
    return CompetenceAssessment(
        id=row["assessment_id"],
        outcome=outcome,
        assessed_at=_aware(row["assessed_at"]) or datetime.min.replace(tzinfo=UTC),
        recorded_at=_aware(row["recorded_at"]),
        categories=frozenset(row["categories"] or ()),
        assessed_by=by,
        decision=row["decision"],
        framework=row["framework"],
    )


_FACTS: dict[tuple[Any, ...], CompetenceFacts] = {}
_RECORDS: dict[tuple[Any, ...], ConsentRecord] = {}
_RECORDS_MAX = 100_000


def facts_of(assessments: Iterable[dict[str, Any]], birth_date: date | None) -> CompetenceFacts:
    """What the hub knows of one young person's competence, from their assessment rows and date of birth."""
    rows = sorted(assessments, key=lambda r: (r["row_id"], r["event_id"]))
    key = (birth_date, *((r["row_id"], r["event_id"], r["outcome"], _exactly(r["recorded_at"])) for r in rows))
    facts = _FACTS.get(key)
    if facts is None:
        if len(_FACTS) >= _RECORDS_MAX:
            _FACTS.clear()
        built = (_assessment(r) for r in rows)
        facts = _FACTS[key] = CompetenceFacts(birth_date, tuple(a for a in built if a is not None))
    return facts


def _exactly(value: Any) -> Any:
    """A datetime with its zone: equal instants in different zones must not share a cached record."""
    return (value, value.tzinfo) if isinstance(value, datetime) else value


def to_record(row: dict[str, Any], facts: CompetenceFacts | None = None) -> ConsentRecord:
    """A stored row as the engine's ConsentRecord. Scopes pass through as recorded: an unscoped *given* consent
    opens nothing (fail closed); an unscoped withdrawal or refusal closes everything. A young person's record
    carries `facts` (their competence assessments and date of birth); a parent's never does.

    Records are immutable and the projector rebuilds them for every touched child in every batch, so a row
    seen before (every value `_record` reads, alike, with the same facts) gets the record built then;
    validating and building one costs ten times its key.
    """
    if row["given_by"] != _YOUNG:
        facts = None
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
        facts,
    )
    record = _RECORDS.get(key)
    if record is None:
        if len(_RECORDS) >= _RECORDS_MAX:
            _RECORDS.clear()
        record = _RECORDS[key] = _record(row, facts)
    return record


def _record(row: dict[str, Any], facts: CompetenceFacts | None = None) -> ConsentRecord:
    categories = frozenset(row["categories"])
    return ConsentRecord(
        id=row["consent_id"],
        status=ConsentStatus(row["status"]),
        by=Consenter(row["given_by"]),
        recorded_at=_aware(row["recorded_at"]) or datetime.min.replace(tzinfo=UTC),
        competent=bool(row["competent"]) and facts is None,
        organisations=frozenset(row["organisations"]),
        organisation_types=frozenset(row["organisation_types"]),
        categories=categories,
        purposes=frozenset(row["purposes"]),
        start=_aware(row["period_start"]),
        end=_aware(row["period_end"]),
        withdraws=row["withdraws"],
        child_id=row["child_id"],
        competence=None if facts is None else _with_flag(facts, row, categories),
    )


def _with_flag(facts: CompetenceFacts, row: dict[str, Any], categories: frozenset[str]) -> CompetenceFacts:
    """The child's facts, plus the assessment a practitioner recorded with this record (`competent: true`)."""
    if not row["competent"]:
        return facts
    recorded = _aware(row["recorded_at"]) or datetime.min.replace(tzinfo=UTC)
    flag = CompetenceAssessment(
        id=f"{row['consent_id']}#competent",
        outcome=CompetenceOutcome.COMPETENT,
        assessed_at=recorded,
        categories=frozenset() if ANY in categories else categories,
        assessed_by=f"recorded as competent with consent {row['consent_id']} ({row['source_org']})",
    )
    return CompetenceFacts(facts.birth_date, (*facts.assessments, flag))


def records_of(
    consents: Sequence[dict[str, Any]], assessments: Iterable[dict[str, Any]], birth_date: date | None
) -> list[ConsentRecord]:
    """One child's consent records, each young person's carrying the child's competence facts."""
    if not consents:
        return []
    facts = facts_of(assessments, birth_date)
    return [to_record(row, facts) for row in consents]


def birth_dates(conn: Connection, child_ids: Sequence[str]) -> dict[str, date | None]:
    """Each child's date of birth from the identity registry. Sources that disagree give the latest date (the
    youngest age): a young person is then presumed competent no earlier than any source says (fail closed)."""
    out: dict[str, date | None] = dict.fromkeys(child_ids)
    ids = list(child_ids)
    for i in range(0, len(ids), 2000):
        rows = conn.execute(
            select(identity_records.c.child_id, identity_records.c.birth_date).where(
                identity_records.c.child_id.in_(ids[i : i + 2000]), identity_records.c.birth_date.is_not(None)
            )
        )
        for child_id, born in rows:
            known = out.get(child_id)
            if isinstance(born, datetime):
                born = born.date()
            if known is None or born > known:
                out[child_id] = born
    return out
