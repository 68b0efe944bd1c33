"""POST /intake/vcse: support sessions, support offered and onward referrals from VCSE services (JSON)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connectors.vcse.map import map_json
from hub.api.routes.intake_common import BODY_SETTING, IntakePublisher, Limits, Sender, intake, read_body

router = APIRouter(prefix="/intake", tags=["intake"])


@router.post("/vcse")
async def intake_vcse(request: Request, sender: Sender, pub: IntakePublisher, limits: Limits) -> JSONResponse:
    body = await read_body(request, limits.max_body_bytes, BODY_SETTING)
    org = sender.organisation
    return await intake(
        pub,
        "vcse",
        body,
        f"application/json; org={org}",
        lambda now: map_json(body.data, org, now),
        limits,
        is_json=True,
        atomic=False,
    )
