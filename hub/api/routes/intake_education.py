"""POST /intake/education: school MIS exports as CSV (one record type per file) or JSON (several types)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connectors.batch import Batch
from connectors.education.map import map_csv, map_json
from hub.api.routes.intake_common import BODY_SETTING, IntakePublisher, Limits, Sender, intake, read_body

router = APIRouter(prefix="/intake", tags=["intake"])


@router.post("/education")
async def intake_education(
    request: Request,
    sender: Sender,
    pub: IntakePublisher,
    limits: Limits,
    type: str | None = None,
    school_urn: str | None = None,
) -> JSONResponse:
    """CSV needs `?type=pupils|attendance|exclusions|sen|concerns|referrals`; good rows go in, bad rows are
    reported by row number and column and kept in dead letter."""
    body = await read_body(request, limits.max_body_bytes, BODY_SETTING)
    org = sender.organisation
    if "csv" in request.headers.get("content-type", "").lower():

        def produce(now: datetime) -> Batch:
            return map_csv(body.data, type, org, school_urn, now)

        content_type = f"text/csv; type={type}; org={org}"
        return await intake(pub, "education", body, content_type, produce, limits, is_json=False, atomic=False)
    return await intake(
        pub,
        "education",
        body,
        f"application/json; org={org}",
        lambda now: map_json(body.data, org, now),
        limits,
        is_json=True,
        atomic=False,
    )
