"""The embeddable timeline page (`/viewer`), its assets, and the JSON it reads (`/viewer/story.json`).

The page is a SMART app: opened by an EPR with `launch` and `iss`, it runs the EHR launch itself (PKCE) and
keeps the access token in sessionStorage; a token in the URL fragment is accepted too. It may be framed only
by the origins in `viewer_frame_ancestors`. The JSON is the same consent-checked story as the timeline API,
decided live, audited before it leaves, and limited to the token's patient for patient-scoped tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import HTMLResponse, JSONResponse, Response

from hub.api.audited import audited, record
from hub.api.deps import ClientAddress, Ctx, Viewer
from hub.api.patient_access import PatientQueryRead
from hub.audit import log as audit
from hub.audit.relationship import relationship_of
from hub.auth import smart
from hub.disclosure.decide import viewer_of
from hub.read import children
from hub.read.glance import page_story
from hub.read.story import read_story
from hub.telemetry.spans import read_span
from hub.web import nhsuk_assets

router = APIRouter(tags=["viewer"])
# The token's scopes, patient context and purpose allow reading ?patient= (else 403, audited as a denial).
Readable = Annotated[list[smart.Scope], Depends(PatientQueryRead("viewer"))]
_ASSETS = {"viewer.css": "text/css; charset=utf-8", "viewer.js": "text/javascript; charset=utf-8"}
LEVEL_WORDS = {
    "full": "Shown in full.",
    "summary": "Only a summary is shown. The recording organisation can tell you more if you need it.",
    "flag": "Only the fact that an organisation is involved is shown, with whom to contact.",
}


def _read(name: str) -> str:
    return resources.files("hub.web.viewer").joinpath(name).read_text(encoding="utf-8")


@router.get("/viewer", response_class=HTMLResponse)
def viewer_page() -> HTMLResponse:
    """Its CSP (frame-ancestors from `viewer_frame_ancestors`) comes from hub.api.security_headers."""
    return HTMLResponse(_read("index.html").replace("<!-- nhsuk-head -->", nhsuk_assets.HEAD))


@router.get("/viewer/assets/{asset}")
def viewer_asset(asset: str) -> Response:
    if asset not in _ASSETS:
        raise HTTPException(404, "no such file")
    return Response(_read(asset), media_type=_ASSETS[asset])


def explanation(ctx: Ctx, role: str, purpose: str) -> dict[str, Any]:
    """The same words for every child and every view in this role and purpose: never a hint of what is hidden."""
    described = ctx.policy.roles.get(role)
    return {
        "intro": (
            "OneStory shows what the data-sharing agreement and the young person's consent allow for your role "
            "and purpose. The same rules apply to every child."
        ),
        "role": (getattr(described, "description", None) or role).rstrip("."),
        "purpose": purpose,
        "levels": LEVEL_WORDS,
        "next": (
            "If you need more for this child's care, contact the organisation named on an entry or the team "
            "around the child. For questions about access, contact your information governance lead."
        ),
    }


@router.get("/viewer/story.json")
def story_json(patient: str, ctx: Ctx, viewer: Viewer, client: ClientAddress, _scopes: Readable) -> JSONResponse:
    """The page's story (hub.read.glance); 404 alike for an unknown child and one the viewer may see nothing of."""
    child_id = patient.removeprefix("Patient/")
    now = datetime.now(UTC)
    engine_viewer = viewer_of(viewer)
    with read_span("viewer", viewer.role, viewer.purpose) as span:
        with ctx.engine.connect() as conn:
            story = (
                read_story(conn, ctx.policy, engine_viewer, child_id, now)
                if children.child_exists(conn, child_id)
                else None
            )
            body: dict[str, Any] | None = None
            if story is not None and story.entries:
                span.decisions(story.levels.values())
                body = page_story(conn, ctx.codec, ctx.policy, engine_viewer, story, now) | {
                    "explanation": explanation(ctx, viewer.role, viewer.purpose),
                    "viewer": {"organisation": ctx.policy.organisations[viewer.organisation].name},
                }
        access = record(
            viewer,
            client,
            audit.READ,
            "success" if body else ("denied" if story is not None else "not-found"),
            child_id=child_id if story is not None else None,
            query="viewer",
            entries=story.audit_entries() if body and story else [],
            policy_version=ctx.policy.version,
            legitimate_relationship=relationship_of(story, engine_viewer, now),
            **(story.audit_extra() if story else {}),
        )
        body = audited(ctx, access, body)
    if body is None:
        raise HTTPException(404, "no such patient")
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
