"""POST /intake/social-care: case-management JSON, or SSDA903 header/episodes CSV (`?format=`)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connectors.batch import Batch
from connectors.social_care import map as social_care
from connectors.social_care import ssda903
from hub.api.routes.intake_common import IntakePublisher, Sender, intake, read_body

router = APIRouter(prefix="/intake", tags=["intake"])


@router.post("/social-care")
async def intake_social_care(
    request: Request, sender: Sender, pub: IntakePublisher, format: str | None = None, la_code: str | None = None
) -> JSONResponse:
    body = await read_body(request)
    org = sender.organisation
    if "csv" in request.headers.get("content-type", "").lower():

        def produce(now: datetime) -> Batch:
            return ssda903.map_csv(body, format, org, la_code, now)

        return await intake(pub, "social_care", body, f"text/csv; type={format}; org={org}", produce, atomic=False)
    return await intake(
        pub,
        "social_care",
        body,
        f"application/json; org={org}",
        lambda now: social_care.map_json(body, org, now),
        atomic=False,
    )
