"""Social care records → canonical events. Pure.

JSON records follow the stages of the Children in Need census: contact → referral → assessment → child in need
plan / s47 enquiry → child protection plan → looked after, and closure. Categories are checked against the
census code lists, because an unknown category would mislead every agency that reads it.

Sharing basis: `consent_id`, or `lawful_basis` with `decided_by` and `basis_reason`; otherwise the record
type's default (public-task, or safeguarding for s47 enquiries and child protection plans). Safeguarding needs
who decided and why, taken from the record's own fields when the council system sends them: who decided is
`decided_by`, else the `team_manager` who authorised it, else the `social_worker`; why is `basis_reason`, else
the record's `reason` (for an s47 enquiry, the reason for the enquiry). Without both, the record is refused
with the missing field named. `consents` and `competence` arrays carry the young person's or parent's consent
decisions and competence assessments (see connectors.consent_rows).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from connectors.batch import Batch, check_organisation
from connectors.canonical import EventSpec, Source, basis, recorded_lawful_bases
from connectors.consent_rows import competence_spec, consent_spec
from connectors.errors import MappingError
from connectors.people import row_subject
from connectors.tabular import Row, RowError, day_start, json_rows, load_json_object, map_rows
from connectors.voice import voice_payload
from hub.events.model import SharingBasis

CATEGORIES_OF_NEED = frozenset(f"N{i}" for i in range(0, 9))
CATEGORIES_OF_ABUSE = frozenset({"NEG", "PHY", "SAB", "EMO", "MUL"})
RECORD_TYPES = ("contact", "referral", "assessment", "cin_plan", "s47", "cp_plan", "looked_after", "closure", "voice")
SAFEGUARDING = ("lawful_basis", "safeguarding")
PUBLIC_TASK = ("lawful_basis", "public-task")
DECIDED_BY = ("decided_by", "team_manager", "social_worker")
REASON = ("basis_reason", "reason")
PLAN_WORDS = {
    "child-in-need": "Child in need plan",
    "child-protection": "Child protection plan",
    "looked-after": "Looked after",
    "case": "Social care involvement",
}


def _basis(row: Row, default: tuple[str, str]) -> SharingBasis:
    """The record's own basis (`consent_id`, or `lawful_basis`), else the record type's default lawful basis."""
    consent = row.get("consent_id")
    if consent:
        return basis("consent", consent)
    code = row.get("lawful_basis")
    kind, reference = ("lawful_basis", code) if code else default
    spec = recorded_lawful_bases().get(reference or "") if kind == "lawful_basis" else None
    decision = spec is not None and spec.requires_decision  # only then stand in the record's own fields
    return basis(
        kind,
        reference,
        row.get(*DECIDED_BY) if decision else row.get("decided_by"),
        row.get(*REASON) if decision else row.get("basis_reason"),
        location=row.at("lawful_basis"),
        decided_by_location=row.at("decided_by"),
        reason_location=row.at("reason"),
    )


class Ctx:
    """What every social-care mapper needs: the LA, the time the hub received the record."""

    def __init__(self, la_code: str, now: datetime) -> None:
        self.la_code = la_code
        self.now = now

    def spec(
        self,
        row: Row,
        kind: str,
        category: str,
        when: date,
        summary: str,
        ptype: str,
        payload: dict[str, Any],
        sharing: SharingBasis,
        corr: dict[str, str] | None = None,
    ) -> EventSpec:
        record_id = f"{row.need('type')}|{row.need('id')}|{kind}"
        subject = row_subject(row, self.la_code, "child", CHILD_IDS)
        return EventSpec(
            kind=kind,
            category=category,
            record_id=record_id,
            subject=subject,
            occurred_at=day_start(when),
            recorded_at=self.now,
            summary=summary,
            payload_type=ptype,
            payload=payload,
            sharing_basis=sharing,
            correlation_ids=corr or {},
        )


def _when(row: Row) -> date:
    d = row.date("date", "start_date", required=True)
    assert d is not None
    return d


def _referral(row: Row, ctx: Ctx, status: str) -> list[EventSpec]:
    ref_id = row.get("referral_id") or row.need("id")
    outcome = (row.get("outcome") or "").lower()
    redirected = row.get("redirected_to")
    if outcome in ("declined", "nfa", "no further action"):
        if not redirected:
            raise RowError(
                "a declined referral must say where it was redirected (no wrong door)", row.at("redirected_to")
            )
        status = "declined"
    payload = {
        "referral_id": ref_id,
        "status": status,
        "from_organisation": row.get("from_organisation", "source"),
        "to_organisation": ctx.la_code,
        "to_service": "children's social care",
        "reason": row.get("reason"),
        "urgency": row.get("urgency"),
        "redirected_to": redirected,
        "decline_reason": row.get("decline_reason"),
    }
    words = {
        "received": "Contact received by children's social care",
        "accepted": "Referral accepted by children's social care",
        "declined": "Referral declined and redirected",
    }[status]
    return [
        ctx.spec(
            row,
            f"referral.{status}",
            "referral",
            _when(row),
            words,
            "Referral",
            payload,
            _basis(row, PUBLIC_TASK),
            {"referral": ref_id},
        )
    ]


def _assessment(row: Row, ctx: Ctx) -> list[EventSpec]:
    when = _when(row)
    payload = {
        "assessment_id": row.need("id"),
        "assessment_type": row.get("assessment_type") or "single-assessment",
        "tool": None,
        "code": row.get("factors"),
        "outcome": row.get("outcome"),
        "score": None,
        "completed_at": day_start(when),
    }
    return [
        ctx.spec(
            row,
            "assessment.completed",
            "assessment",
            when,
            "Social care assessment completed",
            "Assessment",
            payload,
            _basis(row, PUBLIC_TASK),
            {"referral": row.get("referral_id") or ""},
        )
    ]


def _plan(
    row: Row, ctx: Ctx, plan_type: str, codes: frozenset[str] | None, category: str, default: tuple[str, str]
) -> list[EventSpec]:
    status = (row.get("status") or "started").lower()
    if status not in ("started", "reviewed", "ended"):
        raise RowError("status must be started, reviewed or ended", row.at("status"))
    code = (row.get("category_of_need", "category_of_abuse", "category") or "").upper() or None
    if codes is not None and code not in codes:
        what = "category of need N0-N8" if "N1" in codes else "category of abuse NEG, PHY, SAB, EMO or MUL"
        raise RowError(f"must be a {what}", row.at("category_of_need" if "N1" in codes else "category_of_abuse"))
    when = _when(row)
    payload = {
        "plan_id": row.need("id"),
        "plan_type": plan_type,
        "status": status,
        "category_code": code,
        "legal_status": row.get("legal_status"),
        "placement": row.get("placement"),
        "start_date": row.date("start_date") or (when if status == "started" else None),
        "review_date": row.date("review_date"),
        "end_date": row.date("end_date") or (when if status == "ended" else None),
        "end_reason": row.get("end_reason"),
    }
    return [
        ctx.spec(
            row,
            f"plan.{status}",
            category,
            when,
            f"{PLAN_WORDS[plan_type]} {status}",
            "Plan",
            payload,
            _basis(row, default),
            {"plan": row.need("id")},
        )
    ]


def _s47(row: Row, ctx: Ctx) -> list[EventSpec]:
    payload = {
        "concern_id": row.need("id"),
        "concern_type": "safeguarding",
        "concern_category": "s47-enquiry",
        "severity": None,
        "raised_by_role": "social-worker",
        "action_taken": row.get("outcome"),
    }
    return [
        ctx.spec(
            row,
            "concern.raised",
            "safeguarding-concern",
            _when(row),
            "Section 47 enquiry started",
            "Concern",
            payload,
            _basis(row, SAFEGUARDING),
            {"referral": row.get("referral_id") or ""},
        )
    ]


_MAPPERS: dict[str, Callable[[Row, Ctx], list[EventSpec]]] = {
    "contact": lambda r, c: _referral(r, c, "received"),
    "referral": lambda r, c: _referral(r, c, "accepted"),
    "assessment": _assessment,
    "cin_plan": lambda r, c: _plan(r, c, "child-in-need", CATEGORIES_OF_NEED, "social-care-plan", PUBLIC_TASK),
    "s47": _s47,
    "cp_plan": lambda r, c: _plan(r, c, "child-protection", CATEGORIES_OF_ABUSE, "social-care-plan", SAFEGUARDING),
    "looked_after": lambda r, c: _plan(r, c, "looked-after", None, "social-care-plan", PUBLIC_TASK),
    "closure": lambda r, c: _plan(r, c, "case", None, "social-care-plan", PUBLIC_TASK),
    "voice": lambda r, c: [
        c.spec(
            r,
            "voice.recorded",
            "voice-of-child",
            _when(r),
            "The child's own words recorded",
            "Voice",
            voice_payload(r),
            _basis(r, PUBLIC_TASK),
        )
    ],
}


def _dispatch(ctx: Ctx) -> Callable[[Row], list[EventSpec]]:
    def mapper(row: Row) -> list[EventSpec]:
        rtype = (row.get("type") or "").lower()
        if rtype not in _MAPPERS:
            raise RowError(f"type must be one of {', '.join(RECORD_TYPES)}", row.at("type"))
        if rtype == "closure" and not row.get("status"):
            row.values["status"] = "ended"
        return _MAPPERS[rtype](row, ctx)

    return mapper


CHILD_IDS = ("la_child_id", "child_id", "CHILD")
ARRAYS = ("records", "consents", "competence")


def _consent(ctx: Ctx) -> Callable[[Row], list[EventSpec]]:
    def mapper(row: Row) -> list[EventSpec]:
        subject = row_subject(row, ctx.la_code, "child", CHILD_IDS)
        return [consent_spec(row, subject, ctx.la_code, ctx.now)]

    return mapper


def _competence(ctx: Ctx) -> Callable[[Row], list[EventSpec]]:
    def mapper(row: Row) -> list[EventSpec]:
        return [competence_spec(row, row_subject(row, ctx.la_code, "child", CHILD_IDS), ctx.now)]

    return mapper


def map_json(body: bytes, organisation: str, now: datetime) -> Batch:
    """{"la_code": "...", "records": [{"type": "contact", "id": "...", "la_child_id": "...", "date": ...}, ...],
    "consents": [...], "competence": [...]}: any of the three arrays."""
    data = load_json_object(body)
    la = check_organisation(data.get("la_code"), organisation, "la_code")
    if not any(name in data for name in ARRAYS):
        raise MappingError("no records: give a records, consents or competence array", "records")
    ctx = Ctx(la, now)
    source = Source("social_care", "case-management", la, "local-authority")
    mappers = {"records": _dispatch(ctx), "consents": _consent(ctx), "competence": _competence(ctx)}
    batch = Batch()
    for name in ARRAYS:
        if name in data:
            part = map_rows(
                json_rows(data[name], name, {"la_code": la}, f"application/json; org={la}"), mappers[name], source
            )
            batch.events += part.events
            batch.issues += part.issues
    return batch
