"""POST /intake/self-referral: public (no token): a young person or parent asks for help directly.

Answers 201 with the receipt reference, or 422 with every field problem by field name. Invalid forms are not
dead-lettered: the person is there to correct them, and half-filled personal details are better not kept.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connectors.intake_runner import run_intake
from connectors.self_referral.map import map_form, receipt_for
from hub.api.routes.intake_common import IntakePublisher, read_body

router = APIRouter(prefix="/intake", tags=["intake"])
FORM_LIMIT = 64 * 1024  # a public form: far more than any real request, far less than an export


@router.post("/self-referral")
async def intake_self_referral(request: Request, pub: IntakePublisher) -> JSONResponse:
    body = await read_body(request, limit=FORM_LIMIT)
    now = datetime.now(UTC)
    report = await asyncio.to_thread(
        run_intake,
        pub,
        "self_referral",
        body,
        "application/json",
        lambda: map_form(body, now),
        now,
        atomic=True,
        keep_rejected=False,
    )
    if report.status != 200:
        errors = [{"field": i.location, "message": i.reason} for i in report.issues if i.severity == "error"]
        return JSONResponse({"errors": errors}, status_code=report.status)
    receipt = receipt_for(json.loads(body.decode("utf-8-sig")))
    return JSONResponse({"receipt": receipt, "eventIds": [e for e, _ in report.accepted]}, status_code=201)
