"""The child's story as JSON (timeline, and team/episodes/now), filtered per viewer, audited before it leaves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Connection

from hub.api.audited import audited, record, refuse
from hub.api.deps import ClientAddress, Ctx, Viewer
from hub.api.responses import FastJSONResponse
from hub.audit.relationship import relationship_of
from hub.auth.tokens import Principal
from hub.disclosure.decide import viewer_of
from hub.outbound.views import record_view
from hub.read.story import Story, read_story, summary
from hub.telemetry.spans import read_span

router = APIRouter(prefix="/api")


def in_context(what: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency: a SMART patient/*.read token reads only its own patient (else 403, audited as a denial)."""

    async def check(child_id: str, ctx: Ctx, viewer: Viewer, client: ClientAddress) -> Principal:
        # async: the usual pass is a comparison on the event loop; only a refusal (its audit commit) takes a thread.
        if viewer.patient is not None and viewer.patient != child_id:
            denial = record(
                viewer, client, "read", "denied", child_id=child_id, query=what, policy_version=ctx.policy.version
            )
            await run_in_threadpool(refuse, ctx, denial, HTTPException(403, "the token is limited to another patient"))
        return viewer

    check.__name__ = f"{what}_in_context"
    return check


TimelineReader = Annotated[Principal, Depends(in_context("timeline"))]
SummaryReader = Annotated[Principal, Depends(in_context("summary"))]


NOT_FOUND = "no such child"


def _read(ctx: Ctx, viewer: Principal, client: str | None, child_id: str, what: str, shape: Any) -> FastJSONResponse:
    """A viewer who may see nothing of a child gets the same 404 as for an id that does not exist (audited as a
    denial with the child's id, so the IG officer finds it by child); the existence of a child never leaks."""
    now = datetime.now(UTC)
    engine_viewer = viewer_of(viewer)
    with read_span(what, viewer.role, viewer.purpose) as read:
        with ctx.engine.connect() as conn:
            found = read_story(conn, ctx.policy, engine_viewer, child_id, now)
            exists, story = found.exists, (found if found.exists else None)
            shown = story is not None and bool(story.entries)
            body = shape(conn, story, now) if shown and story is not None else None
        read.decisions(story.level_counts() if story else ())
        read.link_events(ctx.engine, story.entry_ids() if story else [])
        access = record(
            viewer,
            client,
            "read",
            "success" if shown else ("denied" if exists else "not-found"),
            child_id=child_id if exists else None,
            query=what,
            entries=story.audit_entries() if story else [],
            policy_version=ctx.policy.version,
            legitimate_relationship=relationship_of(story, engine_viewer, now),
            **(story.audit_extra() if story else {}),
        )

        kept = (story.record.now_state, story.record.team) if story is not None and story.record else None

        def who_looked(conn: Connection, read_id: str, at: datetime) -> None:  # CP-IS style "who looked" alert
            record_view(conn, ctx.policy, viewer, child_id, read_id, at, ctx.view_alerts, kept)

        # No audit, no data: this returns once the record has committed (if it cannot, a 500 and no data).
        body = audited(ctx, access, body, who_looked if shown else None)
    if body is None:
        raise HTTPException(404, NOT_FOUND)
    return FastJSONResponse(body)


def _marked(story: Story, body: dict[str, Any]) -> dict[str, Any]:
    """A read under break-glass says so, with when the declaration ends."""
    if story.break_glass is None:
        return body
    glass = story.break_glass
    return body | {"breakGlass": {"id": glass.declaration_id, "expiresAt": glass.expires_at.isoformat()}}


def _timeline_body(_conn: Any, story: Story, _now: datetime) -> dict[str, Any]:
    return _marked(story, {"childId": story.child_id, "updating": story.updating, "entries": story.entries})


def _summary_body(conn: Connection, story: Story, now: datetime) -> dict[str, Any]:
    return _marked(story, summary(conn, story, now))


@router.get("/children/{child_id}/timeline", response_model=dict[str, Any])
def child_timeline(child_id: str, ctx: Ctx, viewer: TimelineReader, client: ClientAddress) -> FastJSONResponse:
    return _read(ctx, viewer, client, child_id, "timeline", _timeline_body)


@router.get("/children/{child_id}/summary", response_model=dict[str, Any])
def child_summary(child_id: str, ctx: Ctx, viewer: SummaryReader, client: ClientAddress) -> FastJSONResponse:
    """Team around the child, episodes, THRIVE grouping, open plans, agreed ending, the young person's words."""
    return _read(ctx, viewer, client, child_id, "summary", _summary_body)
