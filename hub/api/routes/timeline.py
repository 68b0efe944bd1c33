"""The child's projected timeline as JSON, filtered per viewer and audited before it leaves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException

from hub.api.deps import ClientAddress, Ctx, Viewer
from hub.audit import log as audit
from hub.read import children
from hub.read.disclosure import disclose, level_for

router = APIRouter(prefix="/api")


@router.get("/children/{child_id}/timeline")
def child_timeline(child_id: str, ctx: Ctx, viewer: Viewer, client: ClientAddress) -> dict[str, Any]:
    now = datetime.now(UTC)
    with ctx.engine.begin() as conn:
        exists = children.child_exists(conn, child_id)
        shown = []
        if exists:
            for entry in children.timeline(conn, child_id):
                level = level_for(viewer, entry)
                if level != "none":
                    shown.append(disclose(entry, level))
        audit.append(
            conn,
            audit.AuditRecord(
                action="read", outcome="success" if exists else "not-found", user_id=viewer.user,
                organisation=viewer.organisation, role=viewer.role, purpose=viewer.purpose,
                child_id=child_id if exists else None, query="timeline",
                entries=[{"id": e["id"], "level": e["level"]} for e in shown], client_address=client,
            ),
            now,
        )
    if not exists:
        raise HTTPException(404, "no such child")
    return {"childId": child_id, "entries": shown}
