"""POST /intake/social-care: case-management JSON, or SSDA903 header/episodes CSV (`?format=`)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connectors.batch import Batch
from connectors.social_care import map as social_care
from connectors.social_care import ssda903
from hub.api.routes.intake_common import BODY_SETTING, IntakePublisher, Limits, Sender, intake, read_body

router = APIRouter(prefix="/intake", tags=["intake"])


@router.post("/social-care")
async def intake_social_care(
    request: Request,
    sender: Sender,
    pub: IntakePublisher,
    limits: Limits,
    format: str | None = None,
    la_code: str | None = None,
) -> JSONResponse:
    body = await read_body(request, limits.max_body_bytes, BODY_SETTING)
    org = sender.organisation
    if "csv" in request.headers.get("content-type", "").lower():

        def produce(now: datetime) -> Batch:
            return ssda903.map_csv(body.data, format, org, la_code, now)

        content_type = f"text/csv; type={format}; org={org}"
        return await intake(pub, "social_care", body, content_type, produce, limits, is_json=False, atomic=False)
    return await intake(
        pub,
        "social_care",
        body,
        f"application/json; org={org}",
        lambda now: social_care.map_json(body.data, org, now),
        limits,
        is_json=True,
        atomic=False,
    )
