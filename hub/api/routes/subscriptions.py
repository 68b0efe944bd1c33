"""FHIR R4 Subscription registration (topic-based, Subscriptions Backport IG) for agency systems.

An agency system registers with its own token: the subscription then receives exactly what that token's
organisation, role and purpose may see, decided per entry by the consent engine. The signing secret is
returned once, in the reply to the POST; an agency only ever sees and ends its own organisation's
subscriptions. Registration and cancellation are audited.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from hub.api.audited import record
from hub.api.deps import ClientAddress, Ctx, Viewer
from hub.api.errors import FHIR_JSON, operation_outcome
from hub.audit.log import AuditRecord
from hub.auth.tokens import Principal
from hub.outbound import subscriptions_store
from hub.outbound.fhir_subscription import (
    SubscriptionError,
    SubscriptionRequest,
    parse_subscription,
    subscription_resource,
)
from hub.outbound.signing import new_secret

router = APIRouter(prefix="/fhir")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _audit(viewer: Principal, client: str | None, action: str, sub_id: str) -> AuditRecord:
    return record(viewer, client, action, "success", query=f"Subscription/{sub_id}", detail={"subscription": sub_id})


async def requested(request: Request) -> SubscriptionRequest | JSONResponse:
    """The subscription asked for, or the OperationOutcome that answers a body that is not one."""
    try:
        return parse_subscription(await request.json())
    except ValueError as exc:  # SubscriptionError, or a body that is not JSON
        return operation_outcome(422 if isinstance(exc, SubscriptionError) else 400, "invalid", str(exc))


Requested = Annotated[SubscriptionRequest | JSONResponse, Depends(requested)]


def receiver(wanted: Requested, ctx: Ctx, viewer: Viewer) -> Principal:
    """A token whose organisation, role and purpose the policy knows (else 403): what it may see is then decided
    per entry. A body that is not a subscription is answered as such first (422/400 before 403)."""
    if isinstance(wanted, JSONResponse):
        return viewer
    role = ctx.policy.roles.get(viewer.role)
    if viewer.organisation not in ctx.policy.organisations or role is None or viewer.purpose not in role.purposes:
        raise HTTPException(403, "this token's organisation, role and purpose cannot receive notifications")
    return viewer


Receiver = Annotated[Principal, Depends(receiver)]


@router.post("/Subscription")
def create_subscription(
    request: Request, wanted: Requested, ctx: Ctx, viewer: Receiver, client: ClientAddress
) -> JSONResponse:
    if isinstance(wanted, JSONResponse):
        return wanted
    now = datetime.now(UTC)
    sub_id, secret = str(uuid.uuid4()), new_secret()
    row: dict[str, Any] = {
        "id": sub_id,
        "organisation": viewer.organisation,
        "role": viewer.role,
        "purpose": viewer.purpose,
        "user_id": viewer.user,
        "topic": wanted.topic,
        "filters": wanted.filters,
        "endpoint": wanted.endpoint,
        "secret": secret,
        "status": "active",
        "events_since_start": 0,
        "created_at": now,
        "reason": wanted.reason,
    }
    subscriptions_store.add(ctx.engine, row, _audit(viewer, client, "subscription-create", sub_id), now)
    body = subscription_resource(row, _base(request), secret=secret)
    return JSONResponse(
        body,
        status_code=201,
        media_type=FHIR_JSON,
        headers={"Location": f"{_base(request)}/Subscription/{row['id']}", "Cache-Control": "no-store"},
    )


def _own(ctx: Ctx, viewer: Principal, sub_id: str) -> dict[str, Any]:
    row = subscriptions_store.own(ctx.engine, sub_id, viewer.organisation)
    if row is None:
        raise HTTPException(404, "no such subscription")
    return row


@router.get("/Subscription/{sub_id}")
def read_subscription(sub_id: str, request: Request, ctx: Ctx, viewer: Viewer) -> JSONResponse:
    return JSONResponse(subscription_resource(_own(ctx, viewer, sub_id), _base(request)), media_type=FHIR_JSON)


@router.delete("/Subscription/{sub_id}")
def delete_subscription(sub_id: str, ctx: Ctx, viewer: Viewer, client: ClientAddress) -> JSONResponse:
    _own(ctx, viewer, sub_id)
    subscriptions_store.end(
        ctx.engine, sub_id, _audit(viewer, client, "subscription-delete", sub_id), datetime.now(UTC)
    )
    return JSONResponse(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "information", "code": "informational", "diagnostics": "subscription ended"}],
        },
        media_type=FHIR_JSON,
    )
