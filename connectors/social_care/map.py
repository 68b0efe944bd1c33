"""Social care records → canonical events. Pure.

JSON records follow the stages of the Children in Need census: contact → referral → assessment → child in need
plan / s47 enquiry → child protection plan → looked after, and closure. Categories are checked against the
census code lists, because an unknown category would mislead every agency that reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from connectors.batch import Batch, check_organisation
from connectors.canonical import EventSpec, Source, basis
from connectors.errors import MappingError
from connectors.people import row_subject
from connectors.tabular import Row, RowError, day_start, json_rows, load_json_object, map_rows
from connectors.voice import voice_payload
from hub.events.model import SharingBasis

CATEGORIES_OF_NEED = frozenset(f"N{i}" for i in range(0, 9))
CATEGORIES_OF_ABUSE = frozenset({"NEG", "PHY", "SAB", "EMO", "MUL"})
RECORD_TYPES = ("contact", "referral", "assessment", "cin_plan", "s47", "cp_plan", "looked_after", "closure", "voice")
SAFEGUARDING = basis("lawful_basis", "safeguarding")
PLAN_WORDS = {
    "child-in-need": "Child in need plan",
    "child-protection": "Child protection plan",
    "looked-after": "Looked after",
    "case": "Social care involvement",
}


def _basis(row: Row, default: SharingBasis) -> SharingBasis:
    consent = row.get("consent_id")
    if consent:
        return basis("consent", consent)
    lawful = row.get("lawful_basis")
    return basis("lawful_basis", lawful, row.get("decided_by")) if lawful else default


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
        subject = row_subject(row, self.la_code, "child", ("la_child_id", "child_id", "CHILD"))
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
            _basis(row, basis("lawful_basis", "public-task")),
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
            _basis(row, basis("lawful_basis", "public-task")),
            {"referral": row.get("referral_id") or ""},
        )
    ]


def _plan(
    row: Row, ctx: Ctx, plan_type: str, codes: frozenset[str] | None, category: str, default: SharingBasis
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
    "cin_plan": lambda r, c: _plan(
        r, c, "child-in-need", CATEGORIES_OF_NEED, "social-care-plan", basis("lawful_basis", "public-task")
    ),
    "s47": _s47,
    "cp_plan": lambda r, c: _plan(r, c, "child-protection", CATEGORIES_OF_ABUSE, "social-care-plan", SAFEGUARDING),
    "looked_after": lambda r, c: _plan(
        r, c, "looked-after", None, "social-care-plan", basis("lawful_basis", "public-task")
    ),
    "closure": lambda r, c: _plan(r, c, "case", None, "social-care-plan", basis("lawful_basis", "public-task")),
    "voice": lambda r, c: [
        c.spec(
            r,
            "voice.recorded",
            "voice-of-child",
            _when(r),
            "The child's own words recorded",
            "Voice",
            voice_payload(r),
            _basis(r, basis("lawful_basis", "public-task")),
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


def map_json(body: bytes, organisation: str, now: datetime) -> Batch:
    """{"la_code": "...", "records": [{"type": "contact", "id": "...", "la_child_id": "...", "date": ...}, ...]}."""
    data = load_json_object(body)
    la = check_organisation(data.get("la_code"), organisation, "la_code")
    if "records" not in data:
        raise MappingError("no records array", "records")
    rows = json_rows(data["records"], "records", {"la_code": la}, f"application/json; org={la}")
    return map_rows(rows, _dispatch(Ctx(la, now)), Source("social_care", "case-management", la, "local-authority"))
