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
from sqlalchemy import Connection

from hub.api.audited import audited, record
from hub.api.deps import ClientAddress, Ctx, Viewer
from hub.api.patient_access import PatientQueryRead
from hub.audit import log as audit
from hub.auth import smart
from hub.auth.tokens import Principal
from hub.disclosure.decide import viewer_of
from hub.read import children
from hub.read.story import Story, read_timeline, summary
from hub.telemetry.spans import read_span

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
    return HTMLResponse(_read("index.html"))


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


def _thrive(thrive: dict[str, Any] | None, names: dict[str, str]) -> dict[str, Any] | None:
    """The grouping and who agreed it; the young person's own words stay with their (full-level) entry."""
    if not thrive:
        return None
    agreed = [names.get(str(who), str(who)) for who in thrive.get("agreed_by") or []]
    return {"grouping": thrive.get("grouping"), "agreed_by": agreed, "at": thrive.get("at")}


def _story_body(conn: Connection, ctx: Ctx, viewer: Principal, story: Story, now: datetime) -> dict[str, Any]:
    """The page's JSON: the visible entries, the team and episodes, each organisation named, and the explanation."""
    names = {code: org.name for code, org in ctx.policy.organisations.items()}
    contacts = {code: org.contact.text for code, org in ctx.policy.organisations.items()}
    now_summary = summary(conn, story, now)
    subject = children.latest_subject(conn, ctx.codec, story.child_id) or {}
    return {
        "childId": story.child_id,
        "name": " ".join(p for p in (subject.get("given_name"), subject.get("family_name")) if p),
        "updating": story.updating,
        "entries": [
            e | {"orgName": names.get(e["source"]["organisation"], e["source"]["organisation"])} for e in story.entries
        ],
        "team": [
            m
            | {
                "orgName": names.get(m["organisation"], m["organisation"]),
                "contact": m["contact"] or contacts.get(m["organisation"]),
            }
            for m in now_summary["team"]
        ],
        "thrive": _thrive(now_summary["thrive"], names),
        "ending": now_summary["ending"],
        "episodes": now_summary["episodes"],
        "explanation": explanation(ctx, viewer.role, viewer.purpose),
        "viewer": {"organisation": names.get(viewer.organisation, viewer.organisation)},
    }


@router.get("/viewer/story.json")
def story_json(patient: str, ctx: Ctx, viewer: Viewer, client: ClientAddress, _scopes: Readable) -> JSONResponse:
    child_id = patient.removeprefix("Patient/")
    now = datetime.now(UTC)
    with read_span("viewer", viewer.role, viewer.purpose) as span:
        with ctx.engine.connect() as conn:
            story = (
                read_timeline(conn, ctx.policy, viewer_of(viewer), child_id, now)
                if children.child_exists(conn, child_id)
                else None
            )
            body: dict[str, Any] | None = None
            if story is not None and story.entries:
                span.decisions(story.levels.values())
                body = _story_body(conn, ctx, viewer, story, now)
        access = record(
            viewer,
            client,
            audit.READ,
            "success" if body else ("denied" if story is not None else "not-found"),
            child_id=child_id if story is not None else None,
            query="viewer",
            entries=story.audit_entries() if body and story else [],
        )
        body = audited(ctx, access, body)
    if body is None:
        raise HTTPException(404, "no such patient")
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
