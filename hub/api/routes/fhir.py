"""FHIR R4 read API: CapabilityStatement, Patient search/read, `$everything` and per-type search by patient.

Every read is decided live (hub.fhir.service → consent engine) and audited in the same transaction before the
response leaves; a viewer who may see nothing of a child gets 404, as if the child did not exist. 401 means no
valid token; 403 a valid token whose scopes, patient context or purpose do not allow the request (audited as
a denial).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from hub.api.audited import audited, record
from hub.api.deps import ClientAddress, Ctx, Viewer
from hub.api.errors import FHIR_JSON
from hub.api.patient_access import ClinicalReader, PatientRead, allow
from hub.api.responses import FastJSONResponse
from hub.audit import log as audit
from hub.auth import smart
from hub.auth.tokens import Principal
from hub.disclosure.decide import viewer_of
from hub.fhir import bundles, paging
from hub.fhir.capability import SEARCH_TYPES, capability_statement
from hub.fhir.mapping import ENTRY_TYPES
from hub.fhir.service import audit_outcome, read_child
from hub.read import children
from hub.telemetry.spans import read_span

router = APIRouter(prefix="/fhir")
RELEASED = "2026-11-22"
EVERYTHING_TYPES = frozenset(ENTRY_TYPES | {"Patient", "CareTeam", "EpisodeOfCare"})
PatientReadable = Annotated[list[smart.Scope], Depends(PatientRead("Patient/{id}", "Patient"))]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _fhir(body: dict[str, Any]) -> JSONResponse:
    return FastJSONResponse(body, media_type=FHIR_JSON, headers={"Cache-Control": "no-store"})


@router.get("/metadata")
def metadata(request: Request) -> JSONResponse:
    """No token needed: clients discover the server and its SMART endpoints here."""
    base = _base(request)
    return _fhir(capability_statement(base, str(request.base_url).rstrip("/") + "/smart", RELEASED))


def searched_identifier(request: Request) -> tuple[str, str]:
    """`identifier=system|value`, else 400 (after the token's 401, before its 403)."""
    identifier = request.query_params.get("identifier")
    if not identifier or "|" not in identifier:
        raise HTTPException(400, "search needs identifier=system|value")
    system, _, value = identifier.partition("|")
    return system, value


Identifier = Annotated[tuple[str, str], Depends(searched_identifier)]


@router.get("/Patient")
def search_patient(
    request: Request, ctx: Ctx, viewer: Viewer, client: ClientAddress, wanted: Identifier, scopes: ClinicalReader
) -> JSONResponse:
    system, value = wanted
    now = datetime.now(UTC)
    with read_span("patient-search", viewer.role, viewer.purpose):
        with ctx.engine.connect() as conn:
            child_id = children.child_by_identifier(conn, system, value.replace(" ", ""))
            in_context = child_id is not None and (
                viewer.patient == child_id or any(s.context != "patient" for s in scopes)
            )
            view = (
                read_child(conn, ctx.codec, ctx.policy, viewer_of(viewer), child_id, now)
                if (in_context and child_id is not None)
                else None
            )
            resources = [view.items[0].build()] if view is not None else []
        access = record(
            viewer,
            client,
            audit.QUERY,
            "success",
            child_id=child_id if view else None,
            query=f"Patient?identifier={system}|***",
            entries=[{"id": f"Patient/{r['id']}", "level": "full"} for r in resources],
        )
        resources = audited(ctx, access, resources)
    body = bundles.searchset(
        _base(request), "Patient", resources, len(resources), {"identifier": f"{system}|***"}, None
    )
    body["link"] = body["link"][1:]  # the self link would repeat the identifier; leave it out
    return _fhir(body)


@router.get("/Patient/{child_id}")
def read_patient(
    request: Request, child_id: str, ctx: Ctx, viewer: Viewer, client: ClientAddress, _scopes: PatientReadable
) -> JSONResponse:
    now = datetime.now(UTC)
    with read_span("patient-read", viewer.role, viewer.purpose):
        with ctx.engine.connect() as conn:
            view = read_child(conn, ctx.codec, ctx.policy, viewer_of(viewer), child_id, now)
            patient = view.items[0].build() if view is not None else None
            entries = [view.items[0].audit] if view is not None else []
            outcome, audited_child = audit_outcome(conn, child_id, view)
        access = record(
            viewer, client, audit.READ, outcome, child_id=audited_child, query="Patient/{id}", entries=entries
        )
        patient = audited(ctx, access, patient)
    if patient is None:
        raise HTTPException(404, "no such patient")
    return _fhir(patient)


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise HTTPException(400, "_since must be an ISO 8601 instant") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _page(
    request: Request,
    ctx: Ctx,
    viewer: Principal,
    client: str | None,
    child_id: str,
    path: str,
    what: str,
    types: tuple[str, ...] | None,
    since: str | None,
    count: int | None,
    cursor: str | None,
    self_params: dict[str, str],
) -> JSONResponse:
    """One page of a child's resources: the cursor carries the filters of the first page."""
    search_type = None if path.endswith("$everything") or types is None else types[0]
    scopes = allow(ctx, viewer, client, child_id, what, search_type)  # after the request's own 400s
    try:
        if cursor:
            query, after = paging.decode_cursor(cursor, child_id)
            if types is not None and query.types != types and not path.endswith("$everything"):
                raise paging.CursorError("the paging cursor belongs to another request")
        else:
            query, after = paging.Query(child_id, types, since, paging.clamp_count(count)), None
    except paging.CursorError as exc:
        raise HTTPException(400, str(exc)) from exc
    permitted = smart.allowed_types(scopes)
    wanted = set(query.types) if query.types is not None else None
    if wanted is not None and permitted is not None:
        wanted &= permitted
    elif wanted is None:
        wanted = permitted
    since_at = _since(query.since)
    now = datetime.now(UTC)
    with read_span(what, viewer.role, viewer.purpose) as span:
        with ctx.engine.connect() as conn:
            view = read_child(conn, ctx.codec, ctx.policy, viewer_of(viewer), child_id, now)
            if view is not None:
                span.decisions(view.story.levels.values())
                selected = view.select(wanted, since_at)
                chunk, more = paging.page([(k.key, k) for k in selected], after, query.count)
                resources = [k.build() for _, k in chunk]
                shown = [k.audit for _, k in chunk]
            outcome, audited_child = audit_outcome(conn, child_id, view)
        action = audit.READ if path.endswith("$everything") else audit.QUERY
        access = record(
            viewer, client, action, outcome, child_id=audited_child, query=what, entries=shown if view else []
        )
        view = audited(ctx, access, view)  # returns once committed: before the response
    if view is None:
        raise HTTPException(404, "no such patient")
    next_cursor = paging.encode_cursor(query, chunk[-1][0]) if more and chunk else None
    self_params = self_params | ({"_cursor": cursor} if cursor else {})
    return _fhir(bundles.searchset(_base(request), path, resources, len(selected), self_params, next_cursor))


def _types(value: str | None, allowed: frozenset[str]) -> tuple[str, ...] | None:
    if not value:
        return None
    types = tuple(sorted({t.strip() for t in value.split(",") if t.strip()}))
    unknown = [t for t in types if t not in allowed]
    if unknown:
        raise HTTPException(400, f"_type not supported here: {', '.join(unknown)}")
    return types


Count = Annotated[int | None, Query(alias="_count", ge=1)]
Since = Annotated[str | None, Query(alias="_since")]
TypeParam = Annotated[str | None, Query(alias="_type")]
Cursor = Annotated[str | None, Query(alias="_cursor")]


@router.get("/Patient/{child_id}/$everything")
def everything(
    request: Request,
    child_id: str,
    ctx: Ctx,
    viewer: Viewer,
    client: ClientAddress,
    count: Count = None,
    since: Since = None,
    type_: TypeParam = None,
    cursor: Cursor = None,
) -> JSONResponse:
    """The child's record as this viewer may see it, oldest first, paged by an opaque cursor."""
    types = _types(type_, EVERYTHING_TYPES)
    params = {
        k: v
        for k, v in (("_count", str(count) if count else None), ("_since", since), ("_type", type_))
        if v is not None
    }
    return _page(
        request,
        ctx,
        viewer,
        client,
        child_id,
        f"Patient/{child_id}/$everything",
        "Patient/{id}/$everything",
        types,
        since,
        count,
        cursor,
        params,
    )


def _search(resource_type: str) -> Any:
    def search(
        request: Request,
        ctx: Ctx,
        viewer: Viewer,
        client: ClientAddress,
        patient: str | None = None,
        count: Count = None,
        since: Since = None,
        cursor: Cursor = None,
    ) -> JSONResponse:
        if not patient:
            raise HTTPException(400, "search needs patient=<id>")
        child_id = patient.removeprefix("Patient/")
        params = {"patient": child_id} | ({"_count": str(count)} if count else {})
        return _page(
            request,
            ctx,
            viewer,
            client,
            child_id,
            resource_type,
            f"{resource_type}?patient",
            (resource_type,),
            since,
            count,
            cursor,
            params,
        )

    search.__name__ = f"search_{resource_type.lower()}"
    search.__doc__ = f"{resource_type} resources for one patient, as this viewer may see them."
    return search


for _type in SEARCH_TYPES:
    router.add_api_route(f"/{_type}", _search(_type), methods=["GET"], name=f"search_{_type}")
