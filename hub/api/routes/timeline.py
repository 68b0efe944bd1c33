"""The child's story as JSON (timeline, and team/episodes/now), filtered per viewer, audited before it leaves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException

from hub.api.deps import ClientAddress, Ctx, Viewer
from hub.audit import log as audit
from hub.auth.tokens import Principal
from hub.read import children
from hub.read.disclosure import viewer_of
from hub.read.story import Story, read_timeline, summary

router = APIRouter(prefix="/api")


def _read(ctx: Ctx, viewer: Principal, client: str | None, child_id: str, what: str,
          shape: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    with ctx.engine.begin() as conn:
        exists = children.child_exists(conn, child_id)
        story = read_timeline(conn, ctx.policy, viewer_of(viewer), child_id, now) if exists else None
        body = shape(conn, story, now) if story is not None else None
        audit.append(
            conn,
            audit.AuditRecord(
                action="read", outcome="success" if exists else "not-found", user_id=viewer.user,
                organisation=viewer.organisation, role=viewer.role, purpose=viewer.purpose,
                child_id=child_id if exists else None, query=what,
                entries=story.audit_entries() if story else [], client_address=client,
            ),
            now,
        )
    if body is None:
        raise HTTPException(404, "no such child")
    return body


def _timeline_body(_conn: Any, story: Story, _now: datetime) -> dict[str, Any]:
    return {"childId": story.child_id, "updating": story.updating, "entries": story.entries}


@router.get("/children/{child_id}/timeline")
def child_timeline(child_id: str, ctx: Ctx, viewer: Viewer, client: ClientAddress) -> dict[str, Any]:
    return _read(ctx, viewer, client, child_id, "timeline", _timeline_body)


@router.get("/children/{child_id}/summary")
def child_summary(child_id: str, ctx: Ctx, viewer: Viewer, client: ClientAddress) -> dict[str, Any]:
    """Team around the child, episodes, THRIVE grouping, open plans, agreed ending, the young person's words."""
    return _read(ctx, viewer, client, child_id, "summary", summary)
