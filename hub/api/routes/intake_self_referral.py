"""POST /intake/self-referral: public (no token): a young person or parent asks for help directly.

Answers 201 with the receipt reference, or 422 with every field problem by field name. Invalid forms are not
dead-lettered: the person is there to correct them, and half-filled personal details are better not kept.
A body over the limits (hub.api.limits), one that is not a JSON object at all, or one the connector fails on
unexpectedly is another matter: no person can correct it field by field, so it is kept as a dead letter and
answered as problem JSON (400 / 413 / 422) whose `errors` the page shows like any other.
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connectors.intake_runner import UNEXPECTED, IntakeReport
from connectors.self_referral.map import map_form, receipt_for
from hub.api.routes.intake_common import LIMIT, IntakePublisher, Limits, check_and_run, phase_code, read_body

router = APIRouter(prefix="/intake", tags=["intake"])
BODY_SETTING = "ONESTORY_SELF_REFERRAL_MAX_BODY_BYTES"


@router.post("/self-referral")
async def intake_self_referral(request: Request, pub: IntakePublisher, limits: Limits) -> JSONResponse:
    body = await read_body(request, limits.self_referral_max_body_bytes, BODY_SETTING, hint="")
    report = await asyncio.to_thread(
        check_and_run,
        pub,
        "self_referral",
        body,
        "application/json",
        lambda now: map_form(body.data, now),
        limits,
        is_json=True,
        atomic=True,
        keep_rejected=False,
    )
    if report.status != 200:
        return _refusal(report)
    receipt = receipt_for(json.loads(body.data.decode("utf-8-sig")))
    return JSONResponse({"receipt": receipt, "eventIds": [e for e, _ in report.accepted]}, status_code=201)


def _refusal(report: IntakeReport) -> JSONResponse:
    errors = [i for i in report.issues if i.severity == "error"]
    if not report.deadletter_ids and not any(i.phase in (LIMIT, UNEXPECTED) for i in errors):
        fields = [{"field": i.location, "message": i.reason} for i in errors]
        return JSONResponse({"errors": fields}, status_code=report.status)
    detail = "; ".join(i.reason for i in errors)
    return JSONResponse(
        {
            "status": report.status,
            "code": phase_code(errors[0].phase) if errors else "processing",
            "detail": detail,
            "errors": [{"field": "submit", "message": i.reason} for i in errors],
        },
        status_code=report.status,
        media_type="application/problem+json",
    )
