"""Break-glass by API (the viewer page uses the same calls): the reasons on offer, declare, end.

A declaration and its access-log record (action `break-glass`, which puts it in the IG review queue and raises
the IG officer's break-glass alert) commit in one transaction before the answer leaves. Declaring answers the
same for a child id that exists and one that does not: it says nothing about the child. What the declaration
opens is decided read by read by the consent engine (hub/disclosure/break_glass.py); each of those reads is
audited with the declaration's id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from hub.api.audited import audited, record, refuse
from hub.api.deps import ClientAddress, Ctx, Viewer
from hub.api.routes.timeline import in_context
from hub.audit.log import BREAK_GLASS, DENY
from hub.audit.relationship import has_relationship
from hub.auth.tokens import Principal
from hub.disclosure import break_glass
from hub.disclosure.decide import load_context, viewer_of

router = APIRouter(prefix="/api", tags=["break-glass"])
Declarer = Annotated[Principal, Depends(in_context("break-glass"))]
BREAK_GLASS_END = "break-glass-end"


class DeclarationIn(BaseModel):
    reason: str = Field(description="a reason code from GET /api/break-glass/reasons", max_length=60)
    justification: str = Field(description="why, in the practitioner's words", max_length=2000)
    minutes: int | None = Field(None, description="fewer minutes than the policy's maximum, if wanted")


@router.get("/break-glass/reasons")
def reasons(ctx: Ctx, viewer: Viewer) -> dict[str, Any]:
    """The policy's break-glass reasons and duration, and whether this token's role and purpose may declare it."""
    return break_glass.offer(ctx.policy, viewer.role, viewer.purpose)


@router.post("/children/{child_id}/break-glass", status_code=201)
def declare(child_id: str, body: DeclarationIn, ctx: Ctx, viewer: Declarer, client: ClientAddress) -> dict[str, Any]:
    """Declare break-glass for this child: 201 with its expiry; 422 for a reason not in the policy or no
    justification; 403 (audited) for a role or purpose the policy does not let break glass."""
    now = datetime.now(UTC)
    try:
        lasts = break_glass.check(
            ctx.policy, viewer.role, viewer.purpose, body.reason, body.justification, body.minutes
        )
    except break_glass.Invalid as exc:
        raise HTTPException(422, str(exc)) from exc
    except break_glass.Refused as exc:
        denial = record(viewer, client, DENY, "denied", child_id=child_id, query="break-glass:declare", reason=str(exc))
        refuse(ctx, denial, HTTPException(403, str(exc)))
    engine_viewer = viewer_of(viewer)
    declaration = break_glass.new_declaration(engine_viewer, child_id, body.reason, body.justification, now, lasts)
    with ctx.engine.connect() as conn:
        related = has_relationship(load_context(conn, child_id).relationships, engine_viewer, child_id, now)
    access = record(
        viewer,
        client,
        BREAK_GLASS,
        "success",
        child_id=child_id,
        query="break-glass:declare",
        reason=f"{body.reason}: {declaration.justification}",
        legitimate_relationship=related,
        policy_version=ctx.policy.version,
        detail={"breakGlass": declaration.declaration_id, "expiresAt": declaration.expires_at.isoformat()},
    )

    def keep(conn: Connection, digest: str, _at: datetime) -> None:  # stored with its audit record, or neither
        break_glass.store(conn, declaration, digest)

    return audited(ctx, access, declaration.as_json(ctx.policy), keep)


@router.delete("/children/{child_id}/break-glass", status_code=204)
def end(child_id: str, ctx: Ctx, viewer: Declarer, client: ClientAddress) -> Response:
    """End the caller's break-glass for this child now (it also ends by itself at its expiry)."""
    engine_viewer = viewer_of(viewer)
    access = record(viewer, client, BREAK_GLASS_END, "success", child_id=child_id, query="break-glass:end")

    def close(conn: Connection, _digest: str, at: datetime) -> None:
        break_glass.end(conn, engine_viewer, child_id, at)

    audited(ctx, access, None, close)
    return Response(status_code=204)
