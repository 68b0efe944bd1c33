"""SSDA903 looked-after children returns (header and episodes CSV, dates dd/mm/YYYY) → canonical events. Pure.

The header file registers each child (LA child id, UPN, date of birth); each episode row is a looked-after
period: plan.started from DECOM, and plan.ended as well when DEC (date episode ceased) is filled in.
"""

from __future__ import annotations

from datetime import datetime

from connectors.batch import Batch, check_organisation
from connectors.canonical import EventSpec, Source, basis
from connectors.errors import MappingError
from connectors.people import row_subject
from connectors.social_care.map import CATEGORIES_OF_NEED
from connectors.tabular import Row, RowError, csv_rows, day_start, map_rows

FORMATS = ("ssda903-header", "ssda903-episodes")
HEADER_COLUMNS = ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB")
EPISODE_COLUMNS = (
    "CHILD",
    "DECOM",
    "RNE",
    "LS",
    "CIN",
    "PLACE",
    "PLACE_PROVIDER",
    "DEC",
    "REC",
    "REASON_PLACE_CHANGE",
    "HOME_POST",
    "PL_POST",
    "URN",
)
PUBLIC_TASK = ("lawful_basis", "public-task")  # the council's statutory duty to a looked-after child


def _header(row: Row, la: str, now: datetime) -> list[EventSpec]:
    row.need("CHILD")
    dob = row.date("DOB", required=True)
    assert dob is not None
    subject = row_subject(row, la, "child", ("CHILD",))
    return [
        EventSpec(
            kind="person.registered",
            category="demographics",
            record_id=f"903-header|{row.need('CHILD')}",
            subject=subject,
            occurred_at=day_start(dob),
            recorded_at=now,
            summary="Looked-after child registered (SSDA903)",
            payload_type="Person",
            payload={"registered_gp": None},
            sharing_basis=basis(*PUBLIC_TASK),
        )
    ]


def _episode(row: Row, la: str, now: datetime) -> list[EventSpec]:
    child = row.need("CHILD")
    start = row.date("DECOM", required=True)
    assert start is not None
    end = row.date("DEC")
    if end is not None and end < start:
        raise RowError("DEC is before DECOM", row.at("DEC"))
    cin = (row.get("CIN") or "").upper() or None
    if cin is not None and cin not in CATEGORIES_OF_NEED:
        raise RowError("CIN must be a category of need N0-N8", row.at("CIN"))
    plan_id = f"{child}|{start.isoformat()}"
    subject = row_subject(row, la, "child", ("CHILD",))
    base = {
        "plan_id": plan_id,
        "plan_type": "looked-after",
        "category_code": cin,
        "legal_status": row.get("LS"),
        "placement": row.get("PLACE"),
        "start_date": start,
        "review_date": None,
    }
    specs = [
        EventSpec(
            kind="plan.started",
            category="social-care-plan",
            record_id=f"903-episode|{plan_id}|start",
            subject=subject,
            occurred_at=day_start(start),
            recorded_at=now,
            summary="Looked-after episode started",
            payload_type="Plan",
            payload={**base, "status": "started", "end_date": None, "end_reason": None},
            sharing_basis=basis(*PUBLIC_TASK),
            correlation_ids={"plan": plan_id},
        )
    ]
    if end is not None:
        specs.append(
            EventSpec(
                kind="plan.ended",
                category="social-care-plan",
                record_id=f"903-episode|{plan_id}|end",
                subject=subject,
                occurred_at=day_start(end),
                recorded_at=now,
                summary="Looked-after episode ended",
                payload_type="Plan",
                payload={**base, "status": "ended", "end_date": end, "end_reason": row.get("REC")},
                sharing_basis=basis(*PUBLIC_TASK),
                correlation_ids={"plan": plan_id},
            )
        )
    return specs


def map_csv(body: bytes, fmt: str | None, organisation: str, declared_la: str | None, now: datetime) -> Batch:
    if fmt not in FORMATS:
        raise MappingError(f"format must be one of {', '.join(FORMATS)}", "format")
    la = check_organisation(declared_la, organisation, "la_code")
    mapper = _header if fmt == "ssda903-header" else _episode
    rows = csv_rows(body, f"text/csv; type={fmt}; org={la}")
    return map_rows(rows, lambda row: mapper(row, la, now), Source("social_care", "ssda903", la, "local-authority"))
