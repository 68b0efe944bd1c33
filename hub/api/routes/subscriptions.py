"""FHIR R4 Subscription registration (topic-based, Subscriptions Backport IG) for agency systems.

An agency system registers with its own token: the subscription then receives exactly what that token's
organisation, role and purpose may see, decided per entry by the consent engine. The signing secret is
returned once, in the reply to the POST; an agency only ever sees and ends its own organisation's
subscriptions. Registration and cancellation are audited.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select, update

from hub.api.deps import ClientAddress, Ctx, Viewer
from hub.api.errors import FHIR_JSON, operation_outcome
from hub.audit import log as audit
from hub.auth.tokens import Principal
from hub.db.feed_tables import subscriptions
from hub.outbound.fhir_subscription import SubscriptionError, parse_subscription, subscription_resource
from hub.outbound.signing import new_secret

router = APIRouter(prefix="/fhir")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _audit(conn: Any, viewer: Principal, client: str | None, action: str, sub_id: str, now: datetime) -> None:
    audit.append(
        conn,
        audit.AuditRecord(
            action=action,
            outcome="success",
            user_id=viewer.user,
            organisation=viewer.organisation,
            role=viewer.role,
            purpose=viewer.purpose,
            query=f"Subscription/{sub_id}",
            client_address=client,
            detail={"subscription": sub_id},
        ),
        now,
    )


@router.post("/Subscription")
async def create_subscription(request: Request, ctx: Ctx, viewer: Viewer, client: ClientAddress) -> JSONResponse:
    try:
        wanted = parse_subscription(await request.json())
    except ValueError as exc:  # SubscriptionError, or a body that is not JSON
        return operation_outcome(422 if isinstance(exc, SubscriptionError) else 400, "invalid", str(exc))
    role = ctx.policy.roles.get(viewer.role)
    if viewer.organisation not in ctx.policy.organisations or role is None or viewer.purpose not in role.purposes:
        raise HTTPException(403, "this token's organisation, role and purpose cannot receive notifications")
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
    with ctx.engine.begin() as conn:
        conn.execute(subscriptions.insert().values(**row))
        _audit(conn, viewer, client, "subscription-create", sub_id, now)
    body = subscription_resource(row, _base(request), secret=secret)
    return JSONResponse(
        body,
        status_code=201,
        media_type=FHIR_JSON,
        headers={"Location": f"{_base(request)}/Subscription/{row['id']}", "Cache-Control": "no-store"},
    )


def _own(ctx: Ctx, viewer: Principal, sub_id: str) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        row = conn.execute(
            select(subscriptions).where(
                subscriptions.c.id == sub_id, subscriptions.c.organisation == viewer.organisation
            )
        ).first()
    if row is None:
        raise HTTPException(404, "no such subscription")
    return dict(row._mapping)


@router.get("/Subscription/{sub_id}")
def read_subscription(sub_id: str, request: Request, ctx: Ctx, viewer: Viewer) -> JSONResponse:
    return JSONResponse(subscription_resource(_own(ctx, viewer, sub_id), _base(request)), media_type=FHIR_JSON)


@router.delete("/Subscription/{sub_id}")
def delete_subscription(sub_id: str, ctx: Ctx, viewer: Viewer, client: ClientAddress) -> JSONResponse:
    _own(ctx, viewer, sub_id)
    now = datetime.now(UTC)
    with ctx.engine.begin() as conn:
        conn.execute(update(subscriptions).where(subscriptions.c.id == sub_id).values(status="off"))
        _audit(conn, viewer, client, "subscription-delete", sub_id, now)
    return JSONResponse(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "information", "code": "informational", "diagnostics": "subscription ended"}],
        },
        media_type=FHIR_JSON,
    )
