"""What every /intake route shares: system-token check, body limits, and the OperationOutcome reply.

Routes stay thin: read the body (bounded), call the pure connector through connectors.intake_runner after the
limits (hub.api.limits), render the report. Over a limit, the sender gets 413 / 422 naming the limit and its
setting, and the input is kept as a dead letter: of an oversized body only the first max-body bytes, with its
true size in the reason, so nothing sent disappears without trace and no upload can fill the hub.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from connectors.batch import Batch, Issue
from connectors.intake_runner import IntakeReport, reject_and_keep, run_intake
from connectors.publisher import Publisher
from hub.api.deps import Ctx, SystemSender
from hub.api.errors import FHIR_JSON
from hub.api.limits import Breach, IntakeLimits, body_breach, json_breach

EVENT_ID_SYSTEM = "urn:onestory:event-id"
LIMIT = "limit"  # the dead-letter phase of input over a limit
BODY_SETTING = "ONESTORY_INTAKE_MAX_BODY_BYTES"
_CODES = {
    "parse": "structure",
    "mapping": "business-rule",
    "authorisation": "forbidden",
    "delivery": "transient",
    LIMIT: "too-costly",
    "unexpected": "exception",
}
# Past the limit, read and discard at most this much more, so an ordinary client that sends its whole body
# before reading the reply gets the 413 rather than a reset connection; beyond it the connection is closed.
DRAIN_BYTES = 64 * 1024 * 1024


Sender = SystemSender  # only system tokens publish (hub.api.deps)


def publisher(ctx: Ctx) -> Publisher:
    if ctx.publisher is None:
        raise HTTPException(503, "intake is not enabled on this API instance")
    pub: Publisher = ctx.publisher
    return pub


IntakePublisher = Annotated[Publisher, Depends(publisher)]


def phase_code(phase: str) -> str:
    """The FHIR issue type of an error phase (also the `code` of problem JSON)."""
    return _CODES.get(phase, "processing")


def intake_limits(ctx: Ctx) -> IntakeLimits:
    return IntakeLimits.from_settings(ctx.settings)


Limits = Annotated[IntakeLimits, Depends(intake_limits)]


@dataclass(frozen=True)
class Body:
    """What was read of a request body: all of it, or (over the limit) its first `limit` bytes and the breach."""

    data: bytes
    over: Breach | None = None


async def read_body(request: Request, limit: int, setting: str, hint: str = "; send it in smaller parts") -> Body:
    """Read at most `limit` bytes into memory, whatever Content-Length says (or, chunked, does not say).

    Past the limit the rest is drained, not kept, up to DRAIN_BYTES; a Content-Length beyond that is not drained
    at all. The breach records the true size where it is known.
    """
    text = request.headers.get("content-length", "")
    declared = int(text) if text.isdigit() else None
    drain = declared is None or declared <= limit + DRAIN_BYTES
    chunks: list[bytes] = []
    kept = seen = 0
    complete = True
    async for chunk in request.stream():
        seen += len(chunk)
        if kept < limit:
            part = chunk[: limit - kept]
            chunks.append(part)
            kept += len(part)
        if seen > limit and (not drain or seen > limit + DRAIN_BYTES):
            complete = False
            break
    data = b"".join(chunks)
    if seen > limit or (declared is not None and declared > limit):
        return Body(data, body_breach(limit, setting, seen, declared, complete, hint))
    if not data.strip():
        raise HTTPException(400, "the body is empty")
    return Body(data)


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
                "code": phase_code(issue.phase) if issue.severity == "error" else "informational",
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


def check_and_run(
    pub: Publisher,
    connector: str,
    body: Body,
    content_type: str,
    produce: Callable[[datetime], Batch],
    limits: IntakeLimits,
    *,
    is_json: bool,
    atomic: bool,
    keep_rejected: bool = True,
) -> IntakeReport:
    """The limits first (an oversized body, then JSON depth and string length), then the connector. Blocking.

    Input over a limit is always kept, whatever keep_rejected says: nobody is there to correct it field by field.
    """
    now = datetime.now(UTC)
    breach = body.over or (json_breach(body.data, limits) if is_json else None)
    if breach is not None:
        issue = Issue("$", breach.detail, "error", LIMIT)
        return reject_and_keep(
            pub,
            connector,
            body.data,
            content_type,
            now,
            breach.status,
            [issue],
            LIMIT,
            f"$: {connector}: {breach.reason}",
        )
    return run_intake(
        pub,
        connector,
        body.data,
        content_type,
        lambda: produce(now),
        now,
        atomic=atomic,
        keep_rejected=keep_rejected,
    )


async def intake(
    pub: Publisher,
    connector: str,
    body: Body,
    content_type: str,
    produce: Callable[[datetime], Batch],
    limits: IntakeLimits,
    *,
    is_json: bool,
    atomic: bool,
) -> JSONResponse:
    """An agency endpoint: checked, run and answered with an OperationOutcome, off the event loop."""
    report = await asyncio.to_thread(
        check_and_run, pub, connector, body, content_type, produce, limits, is_json=is_json, atomic=atomic
    )
    return outcome(report)
