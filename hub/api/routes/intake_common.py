"""What every /intake route shares: system-token check, body limits, and the OperationOutcome reply.

Routes stay thin: read the body, call the pure connector through connectors.intake_runner, render the report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from connectors.batch import Batch
from connectors.intake_runner import IntakeReport, run_intake
from connectors.publisher import Publisher
from hub.api.deps import Ctx, Viewer
from hub.api.errors import FHIR_JSON
from hub.auth.tokens import Principal

MAX_BODY = 20 * 1024 * 1024
SYSTEM_ROLE = "system"
EVENT_ID_SYSTEM = "urn:onestory:event-id"
_CODES = {"parse": "structure", "mapping": "business-rule", "authorisation": "forbidden", "delivery": "transient"}


def system_sender(viewer: Viewer) -> Principal:
    """Only system tokens publish; a person's token (even a practitioner's) cannot push data in."""
    if viewer.role != SYSTEM_ROLE:
        raise HTTPException(403, "intake needs a system token (role=system) bound to the sending organisation")
    return viewer


Sender = Annotated[Principal, Depends(system_sender)]


def publisher(ctx: Ctx) -> Publisher:
    if ctx.publisher is None:
        raise HTTPException(503, "intake is not enabled on this API instance")
    pub: Publisher = ctx.publisher
    return pub


IntakePublisher = Annotated[Publisher, Depends(publisher)]


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is larger than {limit // 1024} KB; split the export")
    body = await request.body()
    if len(body) > limit:
        raise HTTPException(413, f"the body is larger than {limit // 1024} KB; split the export")
    if not body.strip():
        raise HTTPException(400, "the body is empty")
    return body


def outcome(report: IntakeReport) -> JSONResponse:
    """OperationOutcome: one information issue per accepted event (its id as a coding), then every problem."""
    issues: list[dict[str, Any]] = [
        {
            "severity": "information",
            "code": "informational",
            "diagnostics": f"accepted {kind}",
            "details": {"coding": [{"system": EVENT_ID_SYSTEM, "code": event_id}], "text": kind},
        }
        for event_id, kind in report.accepted
    ]
    for issue in report.issues:
        issues.append(
            {
                "severity": "error" if issue.severity == "error" else "information",
                "code": _CODES.get(issue.phase, "processing") if issue.severity == "error" else "informational",
                "diagnostics": issue.reason,
                "expression": [issue.location],
            }
        )
    for dl_id in report.deadletter_ids:
        issues.append(
            {
                "severity": "information",
                "code": "informational",
                "diagnostics": f"kept for correction and replay as dead letter {dl_id}",
            }
        )
    if not issues:
        issues.append({"severity": "information", "code": "informational", "diagnostics": "nothing to do"})
    return JSONResponse(
        {"resourceType": "OperationOutcome", "issue": issues}, status_code=report.status, media_type=FHIR_JSON
    )


async def intake(
    pub: Publisher,
    connector: str,
    body: bytes,
    content_type: str,
    produce: Callable[[datetime], Batch],
    *,
    atomic: bool,
    keep_rejected: bool = True,
) -> JSONResponse:
    now = datetime.now(UTC)
    report = await asyncio.to_thread(
        run_intake,
        pub,
        connector,
        body,
        content_type,
        lambda: produce(now),
        now,
        atomic=atomic,
        keep_rejected=keep_rejected,
    )
    return outcome(report)
