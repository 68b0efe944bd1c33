"""The information-governance API (role `ig-officer`) and its page: search, disclosure reports, break-glass
reviews, accesses without a legitimate relationship, privacy alerts and exports.

Every call, including a refused one, is itself written to the access log before the response leaves. IG
officers see why and who, never clinical content: everything here is read from the access log alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from hub.api.audited import audited, record
from hub.api.deps import ClientAddress, Ctx, IgOfficer
from hub.audit import alerts as alert_rules
from hub.audit import exports
from hub.audit import search as audit_search
from hub.audit.config import IgConfig, load_ig_config
from hub.audit.log import IG_ACCESS, IG_REVIEW, AuditRecord, append
from hub.auth.tokens import Principal

router = APIRouter(prefix="/ig")
PAGE = Path(__file__).resolve().parents[2] / "web" / "ig"
ASSETS = {"ig.js": "text/javascript", "ig.css": "text/css"}
MAX_EXPORT = 100_000


def _access(who: Principal, client: str | None, what: str, child_id: str | None = None) -> AuditRecord:
    """An IG officer's use of the access log, itself on the access log."""
    return record(who, client, IG_ACCESS, "success", child_id=child_id, query=what)


def ig_config(request: Request, ctx: Ctx) -> IgConfig:
    """ig.yaml from the hub's data dir (else the bundled defaults), read once per API instance."""
    config = getattr(request.app.state, "ig_config", None)
    if not isinstance(config, IgConfig):
        data_dir = getattr(ctx.settings, "data_dir", None)
        config = request.app.state.ig_config = load_ig_config(Path(data_dir) if data_dir else None)
    return config


def _moment(value: str | None, end: bool = False) -> datetime | None:
    """ISO date or date-time; a bare date as `to` means the end of that day."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise HTTPException(400, "dates must be ISO 8601 (YYYY-MM-DD or a date-time)") from exc
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return moment + timedelta(days=1) if end and len(value) == 10 else moment


def audit_query(
    child: str | None = None,
    user: str | None = None,
    organisation: str | None = None,
    role: str | None = None,
    purpose: str | None = None,
    outcome: str | None = None,
    action: str | None = None,
    date_from: Annotated[str | None, Query(alias="from")] = None,
    date_to: Annotated[str | None, Query(alias="to")] = None,
) -> audit_search.AuditQuery:
    return audit_search.AuditQuery(
        child_id=child or None,
        user_id=user or None,
        organisation=organisation or None,
        role=role or None,
        purpose=purpose or None,
        outcome=outcome or None,
        action=action or None,
        since=_moment(date_from),
        until=_moment(date_to, end=True),
    )


Filters = Annotated[audit_search.AuditQuery, Depends(audit_query)]
Config = Annotated[IgConfig, Depends(ig_config)]


def _described(what: str, q: audit_search.AuditQuery) -> str:
    shown = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in q.__dict__.items() if v is not None}
    return what + ("?" + "&".join(f"{k}={v}" for k, v in sorted(shown.items())) if shown else "")


def _download(body: str | bytes, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


# -- the page ----------------------------------------------------------------------------------------------
@router.get("", response_class=HTMLResponse, include_in_schema=False)
def page() -> HTMLResponse:
    """The page holds no data: it asks for a bearer token and calls the API below."""
    return HTMLResponse((PAGE / "index.html").read_text(encoding="utf-8"))


@router.get("/static/{name}", include_in_schema=False)
def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(404, "no such asset")
    return FileResponse(PAGE / name, media_type=ASSETS[name])


# -- the API -----------------------------------------------------------------------------------------------
@router.get("/api/audit")
def search(
    ctx: Ctx,
    officer: IgOfficer,
    client: ClientAddress,
    q: Filters,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: int | None = None,
) -> dict[str, Any]:
    """Search by child, user, organisation, role, purpose, outcome, action and date range; newest first."""
    with ctx.engine.connect() as conn:
        items, cursor = audit_search.search(conn, q, limit, before)
    return audited(ctx, _access(officer, client, _described("search", q), q.child_id), {"items": items, "next": cursor})


@router.get("/api/unrelated")
def unrelated(
    ctx: Ctx,
    officer: IgOfficer,
    client: ClientAddress,
    q: Filters,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: int | None = None,
) -> dict[str, Any]:
    """Accesses recorded without a legitimate relationship to the child."""
    q = audit_search.AuditQuery(**{**q.__dict__, "legitimate_relationship": False})
    with ctx.engine.connect() as conn:
        items, cursor = audit_search.search(conn, q, limit, before)
    return audited(
        ctx, _access(officer, client, _described("unrelated", q), q.child_id), {"items": items, "next": cursor}
    )


@router.get("/api/children/{child_id}/disclosures.{fmt}")
def disclosure_report(child_id: str, fmt: str, ctx: Ctx, officer: IgOfficer, client: ClientAddress) -> Response:
    """Who saw what of this child's record, when and why: CSV or PDF, for a subject access request."""
    if fmt not in ("csv", "pdf", "json"):
        raise HTTPException(404, "report formats are csv, pdf and json")
    now = datetime.now(UTC)
    with ctx.engine.connect() as conn:
        items = list(audit_search.iterate(conn, audit_search.AuditQuery(child_id=child_id)))
    report: Response
    if fmt == "json":
        report = JSONResponse({"childId": child_id, "items": items})
    elif fmt == "csv":
        report = _download(exports.disclosure_csv(items), "text/csv; charset=utf-8", f"disclosures-{child_id}.csv")
    else:
        pdf = exports.disclosure_pdf(child_id, items, now, officer.user)
        report = _download(pdf, "application/pdf", f"disclosures-{child_id}.pdf")
    return audited(ctx, _access(officer, client, f"disclosure-report.{fmt}", child_id), report)


@router.get("/api/break-glass")
def break_glass(
    ctx: Ctx, officer: IgOfficer, client: ClientAddress, config: Config, include_decided: bool = False
) -> dict[str, Any]:
    """Break-glass accesses awaiting review, with their deadline (`break_glass_review_days` after the access)."""
    now = datetime.now(UTC)
    with ctx.engine.connect() as conn:
        items = audit_search.break_glass_queue(conn, config.break_glass_review_days, now, include_decided)
    body = {"reviewDays": config.break_glass_review_days, "items": items}
    return audited(ctx, _access(officer, client, "break-glass-queue"), body)


class ReviewIn(BaseModel):
    decision: str = Field(description="appropriate | inappropriate")
    note: str | None = Field(None, max_length=2000)


@router.post("/api/break-glass/{seq}/decision", status_code=201)
def decide_break_glass(seq: int, body: ReviewIn, ctx: Ctx, officer: IgOfficer, client: ClientAddress) -> dict[str, Any]:
    now = datetime.now(UTC)
    try:
        with ctx.engine.begin() as conn:
            audit_search.record_review(conn, seq, body.decision, officer.user, body.note, now)
            detail = {"auditSeq": seq, "decision": body.decision}
            append(conn, record(officer, client, IG_REVIEW, "success", query="break-glass-review", detail=detail), now)
    except audit_search.ReviewError as exc:
        raise HTTPException(409 if "already" in str(exc) else 400 if "must be" in str(exc) else 404, str(exc)) from exc
    return {"auditSeq": seq, "decision": body.decision, "reviewer": officer.user, "decidedAt": now.isoformat()}


@router.get("/api/alerts")
def privacy_alerts(ctx: Ctx, officer: IgOfficer, client: ClientAddress, config: Config, q: Filters) -> dict[str, Any]:
    """The documented rules (docs/ig-alerts.md) over the chosen range; the last 7 days by default."""
    now = datetime.now(UTC)
    if q.since is None:
        q = audit_search.AuditQuery(**{**q.__dict__, "since": now - timedelta(days=7)})
    with ctx.engine.connect() as conn:
        items = [i for _, i in zip(range(MAX_EXPORT), audit_search.iterate(conn, q), strict=False)]
        staff = audit_search.staff_directory(conn)
        kids = audit_search.child_demographics(conn, {i["childId"] for i in items if i.get("childId")})
    found = alert_rules.evaluate(items, config.alerts, staff, kids)
    body = {"items": [a.as_json() for a in found], "rules": sorted(alert_rules.RULES)}
    return audited(ctx, _access(officer, client, _described("alerts", q)), body)


@router.get("/api/export.{fmt}")
def export(fmt: str, ctx: Ctx, officer: IgOfficer, client: ClientAddress, q: Filters) -> Response:
    """Every matching record (up to 100,000) as FHIR AuditEvent NDJSON or CSV."""
    if fmt not in ("ndjson", "csv"):
        raise HTTPException(404, "export formats are ndjson and csv")
    with ctx.engine.connect() as conn:
        items = [i for _, i in zip(range(MAX_EXPORT), audit_search.iterate(conn, q), strict=False)]
    if fmt == "csv":
        out = _download(exports.to_csv(items), "text/csv; charset=utf-8", "audit.csv")
    else:
        out = _download(exports.to_ndjson(items), "application/fhir+ndjson", "audit-events.ndjson")
    return audited(ctx, _access(officer, client, _described(f"export.{fmt}", q), q.child_id), out)
