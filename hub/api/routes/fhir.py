"""FHIR R4 read API: CapabilityStatement, Patient search/read, `$everything` and per-type search by patient.

Every read is decided live (hub.fhir.service → consent engine) and audited in the same transaction before the
response leaves; a viewer who may see nothing of a child gets 404, as if the child did not exist. 401 means no
valid token; 400 a parameter the endpoint does not support (hub/fhir/search.yaml; ignored instead under
`Prefer: handling=lenient`); 403 a valid token whose scopes, patient context or purpose do not allow the
request (audited as a denial); 406 a request for anything but JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from hub.api.audited import audited, record
from hub.api.deps import ClientAddress, Ctx, Viewer
from hub.api.errors import FHIR_JSON
from hub.api.patient_access import ClinicalReader, PatientRead, allow
from hub.api.responses import FastJSONResponse
from hub.audit import log as audit
from hub.audit.group_commit import FollowUp
from hub.audit.log import AuditRecord, append_many
from hub.auth import smart
from hub.auth.tokens import Principal
from hub.disclosure.decide import viewer_of
from hub.fhir import bundles, formats, paging
from hub.fhir.capability import SEARCH_TYPES, capability_statement
from hub.fhir.mapping import ENTRY_TYPES
from hub.fhir.search import Search, SearchError, catalogue
from hub.fhir.service import ChildView, audit_outcome, read_child, search_patients
from hub.outbound.views import record_view
from hub.read.patient_search import CriteriaError, PatientCriteria, masked_query, patient_criteria
from hub.telemetry.spans import read_span


async def json_only(request: Request) -> None:
    """406 for a request that asks (by `_format` or `Accept`) for anything but JSON; before any other check.

    async, as is Searched: header and parameter checks are CPU only, so they run on the event loop instead of
    costing each read a hop to the thread pool.
    """
    reason = formats.refusal(request.query_params.get("_format"), request.headers.get("accept"))
    if reason is not None:
        raise HTTPException(406, reason)


router = APIRouter(prefix="/fhir", dependencies=[Depends(json_only)])
RELEASED = "2026-11-22"
EVERYTHING_TYPES = frozenset(ENTRY_TYPES | {"Patient", "CareTeam", "EpisodeOfCare"})
PatientReadable = Annotated[list[smart.Scope], Depends(PatientRead("Patient/{id}", "Patient"))]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _fhir(body: dict[str, Any]) -> JSONResponse:
    return FastJSONResponse(body, media_type=FHIR_JSON, headers={"Cache-Control": "no-store"})


def lenient(request: Request) -> bool:
    """`Prefer: handling=lenient`: unknown parameters are ignored instead of refused."""
    prefer = request.headers.get("prefer", "")
    return any(p.strip().replace(" ", "").lower() == "handling=lenient" for p in prefer.replace(";", ",").split(","))


class Searched:
    """Dependency: the request's parameters checked against the endpoint's row of search.yaml, else 400."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    async def __call__(self, request: Request) -> Search:
        try:
            return catalogue().check(self.endpoint, request.query_params.multi_items(), lenient(request))
        except SearchError as exc:
            raise HTTPException(400, str(exc)) from exc


def documented(endpoint: str, *declared: str) -> dict[str, Any]:
    """OpenAPI for the endpoint's parameters that its signature does not declare (they are read by Searched)."""
    params = catalogue().endpoint(endpoint).params
    schema = {"number": {"type": "integer", "minimum": 1}}
    extra = [
        {
            "name": p.name,
            "in": "query",
            "required": False,
            "schema": schema.get(p.type, {"type": "string"}),
            "description": p.documentation,
        }
        for p in params.values()
        if p.name not in declared
    ]
    includes = catalogue().endpoint(endpoint).includes
    if includes:
        extra.append(
            {"name": "_include", "in": "query", "required": False, "schema": {"type": "string", "enum": list(includes)}}
        )
    return {"parameters": extra}


@router.get("/metadata")
def metadata(request: Request, _search: Annotated[Search, Depends(Searched("metadata"))]) -> JSONResponse:
    """No token needed: clients discover the server and its SMART endpoints here."""
    base = _base(request)
    return _fhir(capability_statement(base, str(request.base_url).rstrip("/") + "/smart", RELEASED))


def patient_search(search: Annotated[Search, Depends(Searched("Patient"))]) -> tuple[Search, PatientCriteria]:
    """The Patient search's criteria, else 400 (after the token's 401, before its 403)."""
    try:
        return search, patient_criteria(search.values)
    except CriteriaError as exc:
        raise HTTPException(400, str(exc)) from exc


PatientSearch = Annotated[tuple[Search, PatientCriteria], Depends(patient_search)]


def _also(records: list[AuditRecord]) -> Any:
    """Follow-up writing further access records in the same transaction as the first."""
    return (lambda conn, _digest, now: append_many(conn, records, now)) if records else None


@router.get("/Patient", openapi_extra=documented("Patient"))
def search_patient(
    request: Request, ctx: Ctx, viewer: Viewer, client: ClientAddress, wanted: PatientSearch, scopes: ClinicalReader
) -> JSONResponse:
    """Children matching the criteria whom this viewer may see. Every matched child is audited, one record each
    (outcome `denied` for a child the viewer was not shown), so the IG officer finds the search by child; the
    answer is the same for a child the viewer may not see as for one who does not exist."""
    search, criteria = wanted
    now = datetime.now(UTC)
    any_child = any(s.context != "patient" for s in scopes)
    query = masked_query(search.values) + ("&_summary=count" if search.summary_count else "")
    with read_span("patient-search", viewer.role, viewer.purpose):
        with ctx.engine.connect() as conn:
            found = search_patients(
                conn,
                ctx.codec,
                ctx.policy,
                viewer_of(viewer),
                criteria,
                lambda child_id: any_child or viewer.patient == child_id,
                now,
            )
        records = [
            record(
                viewer,
                client,
                audit.QUERY,
                "success" if patient is not None else "denied",
                child_id=child_id,
                query=query,
                entries=[{"id": f"Patient/{child_id}", "level": "full"}]
                if patient and not search.summary_count
                else [],
            )
            for child_id, patient in found
        ] or [record(viewer, client, audit.QUERY, "success", query=query)]
        resources = audited(ctx, records[0], [p for _, p in found if p is not None], _also(records[1:]))
    if search.summary_count:
        return _fhir(bundles.count_only(_base(request), "Patient", len(resources), {}))
    body = bundles.searchset(_base(request), "Patient", resources, len(resources), {}, None)
    body["link"] = body["link"][1:]  # the self link would repeat the criteria; leave it out
    return _fhir(body)


@router.get("/Patient/{child_id}")
def read_patient(
    request: Request,
    child_id: str,
    ctx: Ctx,
    viewer: Viewer,
    client: ClientAddress,
    _search: Annotated[Search, Depends(Searched("Patient/{id}"))],
    _scopes: PatientReadable,
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
    search: Search,
    carried: dict[str, str] | None = None,
) -> JSONResponse:
    """One page of a child's resources: the cursor carries the filters of the first page.

    `_summary=count` answers the total alone; `_include=<Type>:patient` adds the Patient (search mode include)
    to a page with matches, when the token's scopes cover Patient."""
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
    included: list[dict[str, Any]] = []
    with read_span(what, viewer.role, viewer.purpose) as span:
        with ctx.engine.connect() as conn:
            view = read_child(conn, ctx.codec, ctx.policy, viewer_of(viewer), child_id, now)
            if view is not None:
                span.decisions(view.story.level_counts())
                selected = view.select(wanted, since_at)
                chunk, more = paging.page([(k.key, k) for k in selected], after, query.count)
                if search.summary_count:
                    chunk, more = [], False
                resources = [k.build() for _, k in chunk]
                shown = [k.audit for _, k in chunk]
                patient = view.items[0]
                if search.include and chunk and (permitted is None or "Patient" in permitted):
                    included = [patient.build()]
                    shown.append(patient.audit)
            outcome, audited_child = audit_outcome(conn, child_id, view)
        action = audit.READ if path.endswith("$everything") else audit.QUERY
        access = record(
            viewer, client, action, outcome, child_id=audited_child, query=what, entries=shown if view else []
        )
        # A FHIR read of a child on a plan tells the responsible council who looked, as a viewer read does.
        then = _who_looked(ctx, viewer, child_id, view) if view is not None and shown else None
        view = audited(ctx, access, view, then)
    if view is None:
        raise HTTPException(404, "no such patient")
    if search.summary_count:
        return _fhir(bundles.count_only(_base(request), path, len(selected), self_params))
    next_cursor = paging.encode_cursor(query, chunk[-1][0]) if more and chunk else None
    carried = (carried or {}) | ({"_include": search.include[0]} if search.include else {})
    self_params = self_params | ({"_cursor": cursor} if cursor else {}) | carried
    bundle = bundles.searchset(
        _base(request), path, resources, len(selected), self_params, next_cursor, included, carried
    )
    return _fhir(bundle)


def _who_looked(ctx: Ctx, viewer: Principal, child_id: str, view: ChildView | None) -> FollowUp | None:
    """The CP-IS style "who looked" alert, committed with the read's audit record (hub.outbound.views)."""
    if view is None:
        return None
    record_kept = view.story.record
    kept = (record_kept.now_state, record_kept.team) if record_kept is not None else None

    def follow_up(conn: Connection, read_id: str, at: datetime) -> None:
        record_view(conn, ctx.policy, viewer, child_id, read_id, at, ctx.view_alerts, kept)

    return follow_up


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
EVERYTHING_DECLARED = ("_count", "_since", "_type", "_cursor")


@router.get("/Patient/{child_id}/$everything", openapi_extra=documented("Patient/$everything", *EVERYTHING_DECLARED))
def everything(
    request: Request,
    child_id: str,
    ctx: Ctx,
    viewer: Viewer,
    client: ClientAddress,
    search: Annotated[Search, Depends(Searched("Patient/$everything"))],
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
        search,
    )


def _search(resource_type: str) -> Any:
    checked_params = Searched(resource_type)

    def search(
        request: Request,
        ctx: Ctx,
        viewer: Viewer,
        client: ClientAddress,
        checked: Search = Depends(checked_params),  # noqa: B008 - a default: the annotation is a string here
        patient: str | None = None,
        count: Count = None,
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
            None,
            count,
            cursor,
            params,
            checked,
            {"patient": child_id},  # the next link's cursor carries the filters, not the endpoint's own parameter
        )

    search.__name__ = f"search_{resource_type.lower()}"
    search.__doc__ = f"{resource_type} resources for one patient, as this viewer may see them."
    return search


for _type in SEARCH_TYPES:
    router.add_api_route(
        f"/{_type}",
        _search(_type),
        methods=["GET"],
        name=f"search_{_type}",
        openapi_extra=documented(_type, "patient", "_count", "_cursor"),
    )
