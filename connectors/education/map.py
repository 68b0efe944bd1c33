"""School MIS rows → canonical events, one mapper per record type. Pure.

Record types: pupils, attendance, exclusions, sen, concerns, referrals, consents, competence. Which type a CSV
holds comes from the request (`type=`) or the drop file's name; JSON names its arrays by type. The school is
identified by its DfE URN and must be the organisation the sender's token is bound to.

Any row may carry its sharing basis (`Basis`, `Decided By`, `Reason`): a lawful basis the policy does not
define, or a safeguarding basis without who decided and why, is an error on that row naming the column.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from connectors.batch import Batch, check_organisation
from connectors.canonical import EventSpec, Source, basis, make_subject, nhs_identifier, upn_identifier
from connectors.consent_rows import competence_spec, consent_spec
from connectors.education.attendance import UnknownCode, split_marks, summarise
from connectors.errors import MappingError
from connectors.tabular import Row, RowError, csv_rows, day_start, json_rows, load_json_object, map_rows
from hub.events.model import SharingBasis, Subject

RECORD_TYPES = ("pupils", "attendance", "exclusions", "sen", "concerns", "referrals", "consents", "competence")
# Where `Reason` already means the record's own reason (an exclusion's reason code, why a referral was made),
# the basis reason is only `Basis Reason`.
REASON = ("Reason", "Basis Reason")
BASIS_REASON_ONLY = ("Basis Reason",)
SEN_STATUSES = {"N": "no special educational needs", "K": "SEN support", "E": "an EHC plan"}


def _subject(row: Row) -> Subject:
    upn = row.need("UPN")
    ident = upn_identifier(upn)
    if not ident["validated"]:
        raise RowError("UPN fails its check letter", row.at("UPN"))
    ids = [ident]
    nhs = row.get("NHS Number", "NHSNumber")
    if nhs:
        ids.append(nhs_identifier(nhs))
    return make_subject(
        ids,
        given_name=row.get("Forename", "Legal Forename", "First Name"),
        family_name=row.get("Surname", "Legal Surname", "Last Name"),
        birth_date=row.date("DOB", "Date of Birth"),
        sex=row.get("Gender", "Sex"),
        postcode=row.get("Postcode"),
        location=row.at("UPN"),
    )


def _basis(row: Row, default: SharingBasis | None, reason: tuple[str, ...] = REASON) -> SharingBasis:
    """Optional `Basis` column: `consent:<ref>`, `lawful_basis:<code>` or `none`, as recorded by the school.

    `Decided By` and the reason column (`Reason` or `Basis Reason`) go with it; safeguarding needs both. The
    default (the record type's own basis) is used when `Basis` is empty; None means "none".
    """
    text = row.get("Basis", "Sharing Basis")
    if not text:
        return default or basis("none")
    kind, _, ref = text.partition(":")
    kind = kind.strip().lower().replace("-", "_")
    if kind not in ("consent", "lawful_basis", "none"):
        raise RowError("sharing basis must be consent:<ref>, lawful_basis:<code> or none", row.at("Basis"))
    return basis(
        kind,
        ref.strip() or None,
        row.get("Decided By"),
        row.get(*reason),
        location=row.at("Basis"),
        decided_by_location=row.at("Decided By"),
        reason_location=row.at(reason[0]),
    )


def _spec(
    row: Row,
    kind: str,
    category: str,
    record_id: str,
    occurred: date,
    recorded: datetime,
    summary: str,
    ptype: str,
    payload: dict[str, Any],
    sharing: SharingBasis,
    corr: dict[str, str] | None = None,
) -> EventSpec:
    return EventSpec(
        kind=kind,
        category=category,
        record_id=record_id,
        subject=_subject(row),
        occurred_at=day_start(occurred),
        recorded_at=recorded,
        summary=summary,
        payload_type=ptype,
        payload=payload,
        sharing_basis=sharing,
        correlation_ids=corr or {},
    )


def _pupil(row: Row, now: datetime) -> list[EventSpec]:
    admitted = row.date("Admission Date", "Entry Date") or now.date()
    return [
        _spec(
            row,
            "person.registered",
            "demographics",
            f"pupil|{row.need('UPN').upper()}",
            admitted,
            now,
            "Pupil on roll",
            "Person",
            {"registered_gp": None},
            _basis(row, None),
        )
    ]


def _attendance(row: Row, now: datetime) -> list[EventSpec]:
    week = row.date("Week Start", "WeekStart", "Week Commencing", required=True)
    assert week is not None
    try:
        summary = summarise(split_marks(row.need("Marks", "Sessions")))
    except UnknownCode as exc:
        raise RowError(str(exc), row.at("Marks")) from exc
    if summary.possible == 0:
        raise RowError("no possible sessions in the week (every mark is a not-counted code)", row.at("Marks"))
    pct = round(summary.rate * 100, 1)
    words = f"Attendance {pct}% for week of {week.isoformat()}" + (
        " (persistent absence)" if summary.persistent_absence else ""
    )
    payload = {
        "week_start": week,
        "possible_sessions": summary.possible,
        "present_sessions": summary.present,
        "approved_activity_sessions": summary.approved_activity,
        "authorised_absence_sessions": summary.authorised,
        "unauthorised_absence_sessions": summary.unauthorised,
        "late_sessions": summary.late,
        "attendance_rate": round(summary.rate, 4),
        "persistent_absence": summary.persistent_absence,
    }
    return [
        _spec(
            row,
            "attendance.summary",
            "attendance",
            f"attendance|{row.need('UPN').upper()}|{week}",
            week + timedelta(days=4),
            now,
            words,
            "AttendanceSummary",
            payload,
            _basis(row, None),
        )
    ]


def _exclusion(row: Row, now: datetime) -> list[EventSpec]:
    start = row.date("Start Date", "StartDate", required=True)
    assert start is not None
    raw_type = row.need("Type", "Category").lower()
    if raw_type in ("suspension", "fixed", "fixed-term", "fixed term", "fte", "sus"):
        etype = "suspension"
    elif raw_type in ("permanent", "perm", "pe", "permanent exclusion"):
        etype = "permanent"
    else:
        raise RowError("type must be suspension or permanent", row.at("Type"))
    ex_id = row.get("Exclusion Id", "ExclusionID", "Id") or f"{row.need('UPN').upper()}|{start}"
    payload = {
        "exclusion_id": ex_id,
        "exclusion_type": etype,
        "start_date": start,
        "sessions": row.integer("Sessions"),
        "reason_code": row.get("Reason", "Reason Code"),
    }
    words = "Permanent exclusion" if etype == "permanent" else "Suspension"
    return [
        _spec(
            row,
            "exclusion.recorded",
            "exclusion",
            f"exclusion|{ex_id}",
            start,
            now,
            words,
            "Exclusion",
            payload,
            _basis(row, None, BASIS_REASON_ONLY),
        )
    ]


def _sen(row: Row, now: datetime) -> list[EventSpec]:
    status = row.need("Status", "SEN Status", "SEN Provision").upper()
    if status not in SEN_STATUSES:
        raise RowError("SEN status must be N, K or E", row.at("Status"))
    previous = (row.get("Previous Status") or "").upper() or None
    if previous and previous not in SEN_STATUSES:
        raise RowError("previous SEN status must be N, K or E", row.at("Previous Status"))
    effective = row.date("Effective Date", "Start Date") or now.date()
    payload = {
        "status": status,
        "previous_status": previous,
        "primary_need": row.get("Primary Need"),
        "effective_date": effective,
    }
    return [
        _spec(
            row,
            "sen.status-changed",
            "education-sen",
            f"sen|{row.need('UPN').upper()}|{effective}|{status}",
            effective,
            now,
            f"SEN status now {SEN_STATUSES[status]}",
            "SenStatus",
            payload,
            _basis(row, None),
        )
    ]


def _concern(row: Row, now: datetime) -> list[EventSpec]:
    ctype = row.need("Type", "Concern Type").lower()
    if ctype not in ("pastoral", "safeguarding"):
        raise RowError("concern type must be pastoral or safeguarding", row.at("Type"))
    raised = row.date("Raised Date", "Date", required=True)
    assert raised is not None
    concern_id = row.need("Concern Id", "ConcernID", "Id")
    default = None
    if ctype == "safeguarding" and not row.get("Basis", "Sharing Basis"):
        default = basis(
            "lawful_basis",
            "safeguarding",
            row.get("Decided By"),
            row.get(*REASON),
            location=row.at("Type"),
            decided_by_location=row.at("Decided By"),
            reason_location=row.at("Reason"),
        )
    payload = {
        "concern_id": concern_id,
        "concern_type": ctype,
        "concern_category": row.get("Category"),
        "severity": row.get("Severity"),
        "raised_by_role": row.get("Raised By Role", "Raised By"),
        "action_taken": row.get("Action Taken", "Action"),
    }
    return [
        _spec(
            row,
            "concern.raised",
            f"{ctype}-concern",
            f"concern|{concern_id}",
            raised,
            now,
            f"{ctype.capitalize()} concern raised by school",
            "Concern",
            payload,
            _basis(row, default),
        )
    ]


def _referral(row: Row, now: datetime) -> list[EventSpec]:
    ref_id = row.need("Referral Id", "ReferralID", "Id")
    made = row.date("Date", "Referral Date", required=True)
    assert made is not None
    payload = {
        "referral_id": ref_id,
        "status": "made",
        "from_organisation": None,
        "to_organisation": row.get("Referred To", "To Organisation"),
        "to_service": row.get("Service"),
        "reason": row.get("Reason"),
        "urgency": row.get("Urgency"),
        "redirected_to": None,
        "decline_reason": None,
    }
    return [
        _spec(
            row,
            "referral.made",
            "referral",
            f"referral|{ref_id}",
            made,
            now,
            "Referral made by school",
            "Referral",
            payload,
            _basis(row, None, BASIS_REASON_ONLY),
            {"referral": ref_id},
        )
    ]


def _consent(row: Row, now: datetime, urn: str) -> list[EventSpec]:
    consent_id = row.need("Consent ID", "Consent Id")
    sharing = _basis(row, basis("consent", consent_id))
    return [consent_spec(row, _subject(row), urn, now, sharing)]


def _competence(row: Row, now: datetime, urn: str) -> list[EventSpec]:
    return [competence_spec(row, _subject(row), now, _basis(row, None))]


Mapper = Callable[[Row, datetime, str], list[EventSpec]]
MAPPERS: dict[str, Mapper] = {
    "pupils": lambda row, now, urn: _pupil(row, now),
    "attendance": lambda row, now, urn: _attendance(row, now),
    "exclusions": lambda row, now, urn: _exclusion(row, now),
    "sen": lambda row, now, urn: _sen(row, now),
    "concerns": lambda row, now, urn: _concern(row, now),
    "referrals": lambda row, now, urn: _referral(row, now),
    "consents": _consent,
    "competence": _competence,
}


def record_type(name: str | None, location: str) -> str:
    if name is None or name.lower() not in MAPPERS:
        raise MappingError(f"record type must be one of {', '.join(RECORD_TYPES)}", location)
    return name.lower()


def _source(urn: str) -> Source:
    return Source("education", "school-mis", urn, "school")


def map_csv(body: bytes, kind: str | None, organisation: str, declared_urn: str | None, now: datetime) -> Batch:
    """One CSV export of one record type; a `URN` column, if present, must match the bound organisation."""
    rtype = record_type(kind, "type")
    urn = check_organisation(declared_urn, organisation, "school_urn")
    content_type = f"text/csv; type={rtype}; org={urn}"

    def mapper(row: Row) -> list[EventSpec]:
        check_organisation(row.get("URN", "School URN"), urn, row.at("URN"))
        return MAPPERS[rtype](row, now, urn)

    return map_rows(csv_rows(body, content_type), mapper, _source(urn))


def map_json(body: bytes, organisation: str, now: datetime) -> Batch:
    """{"school_urn": "...", "attendance": [...], "pupils": [...], ...}: any of the record-type arrays."""
    data = load_json_object(body)
    urn = check_organisation(data.get("school_urn"), organisation, "school_urn")
    present = [t for t in RECORD_TYPES if t in data]
    if not present:
        raise MappingError(f"no records: give one or more of {', '.join(RECORD_TYPES)}", "$")
    batch = Batch()
    for rtype in present:
        rows = json_rows(data[rtype], rtype, {"school_urn": urn}, f"application/json; org={urn}")
        part = map_rows(rows, lambda row, t=rtype: MAPPERS[t](row, now, urn), _source(urn))  # type: ignore[misc]
        batch.events += part.events
        batch.issues += part.issues
    return batch
