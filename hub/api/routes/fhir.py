"""FHIR R4 read API (the walking skeleton's Patient search; the practitioner-API issue widens it)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from hub.api.deps import ClientAddress, Ctx, Viewer
from hub.api.errors import FHIR_JSON
from hub.audit import log as audit
from hub.read import children
from hub.read.disclosure import viewer_of
from hub.read.story import read_timeline
from hub.read.fhir_patient import patient_resource, searchset

router = APIRouter(prefix="/fhir")


@router.get("/Patient")
def search_patient(request: Request, ctx: Ctx, viewer: Viewer, client: ClientAddress) -> JSONResponse:
    identifier = request.query_params.get("identifier")
    if not identifier or "|" not in identifier:
        raise HTTPException(400, "search needs identifier=system|value")
    system, _, value = identifier.partition("|")
    base = str(request.base_url).rstrip("/") + "/fhir"
    now = datetime.now(UTC)
    with ctx.engine.begin() as conn:
        child_id = children.child_by_identifier(conn, system, value.replace(" ", ""))
        visible = child_id is not None and bool(
            read_timeline(conn, ctx.policy, viewer_of(viewer), child_id, now).entries
        )
        resources = []
        if visible and child_id is not None:
            subject = children.latest_subject(conn, ctx.codec, child_id)
            resources.append(patient_resource(child_id, children.identifiers(conn, child_id), subject))
        audit.append(
            conn,
            audit.AuditRecord(
                action="query", outcome="success", user_id=viewer.user, organisation=viewer.organisation,
                role=viewer.role, purpose=viewer.purpose, child_id=child_id if visible else None,
                query=f"Patient?identifier={system}|***",
                entries=[{"id": f"Patient/{r['id']}", "level": "full"} for r in resources], client_address=client,
            ),
            now,
        )
    return JSONResponse(searchset(base, resources), media_type=FHIR_JSON)
