"""The information-governance API (role `ig-officer`) and its page: search, disclosure reports, break-glass
reviews, accesses without a legitimate relationship, privacy alerts and exports.

Every call, including a refused one, is itself written to the access log before the response leaves. IG
officers see why and who, never clinical content: everything here is read from the access log, plus the
child's name, NHS number and date of birth from the client registry so that a row names the child it is about.
A search by NHS number or name is recorded with every child it matched, the term itself masked (`***`); the
children a response names are listed in the record's detail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from hub.api.audited import audited, record
from hub.api.deps import ClientAddress, Ctx, IgOfficer
from hub.audit import alerts as alert_rules
from hub.audit import exports
from hub.audit import search as audit_search
from hub.audit.config import IgConfig, load_ig_config
from hub.audit.group_commit import FollowUp
from hub.audit.log import IG_ACCESS, IG_REVIEW, AuditRecord, append, append_many
from hub.auth.tokens import Principal
from hub.read import child_finder
from hub.web import nhsuk_assets

router = APIRouter(prefix="/ig")
PAGE = Path(__file__).resolve().parents[2] / "web" / "ig"
ASSETS = {"ig.js": "text/javascript", "ig.css": "text/css"}
MAX_EXPORT = 100_000


def _access(
    who: Principal, client: str | None, what: str, child_id: str | None = None, detail: dict[str, Any] | None = None
) -> AuditRecord:
    """An IG officer's use of the access log, itself on the access log."""
    return record(who, client, IG_ACCESS, "success", child_id=child_id, query=what, detail=detail or None)


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


class Search:
    """The filters of one IG query, with a search by NHS number or name resolved to the children it matched."""

    def __init__(
        self, query: audit_search.AuditQuery, by: str | None, matched: list[str] | None, more: bool = False
    ) -> None:
        self.query = query
        self.by = by  # "nhs" | "name" | None
        self.matched = matched
        self.more = more  # a name matched more children than are searched: the officer should narrow it

    def described(self, what: str) -> str:
        """What the officer asked, for the access log: filters as given, an NHS number or name masked."""
        shown: dict[str, str] = {
            k: (v.isoformat() if isinstance(v, datetime) else str(v))
            for k, v in self.query.__dict__.items()
            if v is not None and k != "child_ids"
        }
        if self.by is not None:
            shown[self.by] = "***"
        return what + ("?" + "&".join(f"{k}={v}" for k, v in sorted(shown.items())) if shown else "")

    def children(self) -> list[str]:
        """The children this query is about: those a term matched, or the one child id given."""
        if self.matched is not None:
            return self.matched
        return [self.query.child_id] if self.query.child_id else []


def audit_query(
    ctx: Ctx,
    child: Annotated[str | None, Query(description="hub child id")] = None,
    nhs: Annotated[str | None, Query(description="NHS number (spaces allowed)")] = None,
    name: Annotated[str | None, Query(description="words of the child's given or family name")] = None,
    user: str | None = None,
    organisation: str | None = None,
    role: str | None = None,
    purpose: str | None = None,
    outcome: str | None = None,
    action: str | None = None,
    date_from: Annotated[str | None, Query(alias="from")] = None,
    date_to: Annotated[str | None, Query(alias="to")] = None,
) -> Search:
    by, term = next(((k, v.strip()) for k, v in (("nhs", nhs), ("name", name)) if v and v.strip()), (None, ""))
    if nhs and nhs.strip() and name and name.strip():
        raise HTTPException(400, "search by NHS number or by name, not both")
    matched: list[str] | None = None
    most = child_finder.MAX_NAME_MATCHES
    if by is not None:
        try:
            with ctx.engine.connect() as conn:
                if by == "nhs":
                    matched = child_finder.children_by_nhs_number(conn, term)
                else:
                    matched = child_finder.children_by_name(conn, term, limit=most + 1)
        except child_finder.SearchTermError as exc:
            raise HTTPException(400, str(exc)) from exc
    more = matched is not None and len(matched) > most
    matched = matched[:most] if matched is not None else None
    query = audit_search.AuditQuery(
        child_id=child or None,
        child_ids=tuple(matched) if matched is not None else None,
        user_id=user or None,
        organisation=organisation or None,
        role=role or None,
        purpose=purpose or None,
        outcome=outcome or None,
        action=action or None,
        since=_moment(date_from),
        until=_moment(date_to, end=True),
    )
    return Search(query, by, matched, more)


Filters = Annotated[Search, Depends(audit_query)]
Config = Annotated[IgConfig, Depends(ig_config)]


def _labels(ctx: Ctx, conn: Connection, child_ids: Any) -> dict[str, dict[str, Any]]:
    return {k: v.as_json() for k, v in child_finder.labels(conn, ctx.codec, child_ids).items()}


def _answer(
    ctx: Ctx,
    officer: Principal,
    client: str | None,
    what: str,
    children: list[str],
    named: dict[str, dict[str, Any]],
    answer: Any,
    detail: dict[str, Any] | None = None,
) -> Any:
    """Audit the IG access (one record per child it is about, in one transaction), then answer.

    The first record carries the child (if any) and the detail; the others follow it in the same commit, so a
    search of the log by any matched child finds the officer's search.
    """
    first_detail = dict(detail or {})
    if named:
        first_detail["childrenNamed"] = sorted(named)
    first = _access(officer, client, what, children[0] if children else None, first_detail)
    rest = [_access(officer, client, what, child, detail) for child in children[1:]]
    then: FollowUp | None = None
    if rest:

        def then(conn: Connection, _digest: str, now: datetime) -> None:
            append_many(conn, rest, now)

    return audited(ctx, first, answer, then)


def _download(body: str | bytes, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


# -- the page ----------------------------------------------------------------------------------------------
def _options(values: Any) -> str:
    return "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def page(ctx: Ctx) -> HTMLResponse:
    """The page holds no data: it asks for a bearer token and calls the API below. Its lists of roles and
    purposes come from the policy in force, the actions from the audit log's vocabulary."""
    purposes = sorted(set(ctx.policy.purposes) | {"audit"})
    html = (
        (PAGE / "index.html")
        .read_text(encoding="utf-8")
        .replace("<!-- nhsuk-head -->", nhsuk_assets.HEAD)
        .replace("<!-- roles -->", _options(sorted(ctx.policy.roles)))
        .replace("<!-- purposes -->", _options(purposes))
        .replace("<!-- outcomes -->", _options(audit_search.OUTCOMES))
        .replace("<!-- actions -->", _options(audit_search.KNOWN_ACTIONS))
    )
    return HTMLResponse(html)


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
    """Search by child (id, NHS number or name), user, organisation, role, purpose, outcome, action and date
    range; newest first. `children` names every child on the page; `matched` lists the children an NHS number
    or name search found (empty: no such child), `moreMatched` says a name matched more than are searched."""
    return _search_page(ctx, officer, client, q, "search", limit, before)


@router.get("/api/unrelated")
def unrelated(
    ctx: Ctx,
    officer: IgOfficer,
    client: ClientAddress,
    q: Filters,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: int | None = None,
) -> dict[str, Any]:
    """Accesses recorded without a legitimate relationship to the child (the same filters as the search)."""
    q.query = audit_search.AuditQuery(**{**q.query.__dict__, "legitimate_relationship": False})
    return _search_page(ctx, officer, client, q, "unrelated", limit, before)


def _search_page(
    ctx: Ctx, officer: Principal, client: str | None, q: Search, what: str, limit: int, before: int | None
) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        items, cursor = audit_search.search(conn, q.query, limit, before)
        named = _labels(ctx, conn, [*(i["childId"] for i in items), *(q.matched or [])])
    body: dict[str, Any] = {"items": items, "next": cursor, "children": named}
    detail = None
    if q.matched is not None:
        body["matched"] = q.matched
        body["moreMatched"] = q.more
        detail = {"matchedChildren": len(q.matched)}
    return _answer(ctx, officer, client, q.described(what), q.children(), named, body, detail)


@router.get("/api/children/{child_id}/disclosures.{fmt}")
def disclosure_report(child_id: str, fmt: str, ctx: Ctx, officer: IgOfficer, client: ClientAddress) -> Response:
    """Who saw what of this child's record, when and why: CSV or PDF for a subject access request, JSON for the
    page (with the child's name and NHS number)."""
    if fmt not in ("csv", "pdf", "json"):
        raise HTTPException(404, "report formats are csv, pdf and json")
    now = datetime.now(UTC)
    named: dict[str, dict[str, Any]] = {}
    with ctx.engine.connect() as conn:
        items = list(audit_search.iterate(conn, audit_search.AuditQuery(child_id=child_id)))
        if fmt != "csv":  # the CSV is rows only
            named = _labels(ctx, conn, [child_id])
    report: Response
    if fmt == "json":
        report = JSONResponse({"childId": child_id, "child": named.get(child_id), "items": items})
    elif fmt == "csv":
        report = _download(exports.disclosure_csv(items), "text/csv; charset=utf-8", f"disclosures-{child_id}.csv")
    else:
        label = named.get(child_id) or {}
        who = ", ".join(
            p for p in (label.get("name"), label.get("nhsNumber") and f"NHS number {label['nhsNumber']}") if p
        )
        pdf = exports.disclosure_pdf(child_id, items, now, officer.user, child=who or None)
        report = _download(pdf, "application/pdf", f"disclosures-{child_id}.pdf")
    return _answer(ctx, officer, client, f"disclosure-report.{fmt}", [child_id], named, report)


@router.get("/api/break-glass")
def break_glass(
    ctx: Ctx, officer: IgOfficer, client: ClientAddress, config: Config, include_decided: bool = False
) -> dict[str, Any]:
    """Break-glass accesses awaiting review, with their deadline (`break_glass_review_days` after the access)."""
    now = datetime.now(UTC)
    with ctx.engine.connect() as conn:
        items = audit_search.break_glass_queue(conn, config.break_glass_review_days, now, include_decided)
        named = _labels(ctx, conn, [i["childId"] for i in items])
    body = {"reviewDays": config.break_glass_review_days, "items": items, "children": named}
    return _answer(ctx, officer, client, "break-glass-queue", [], named, body)


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
    query = q.query
    if query.since is None:
        query = q.query = audit_search.AuditQuery(**{**query.__dict__, "since": now - timedelta(days=7)})
    with ctx.engine.connect() as conn:
        items = [i for _, i in zip(range(MAX_EXPORT), audit_search.iterate(conn, query), strict=False)]
        staff = audit_search.staff_directory(conn)
        kids = audit_search.child_demographics(conn, {i["childId"] for i in items if i.get("childId")})
        found = alert_rules.evaluate(items, config.alerts, staff, kids)
        named = _labels(ctx, conn, [a.child_id for a in found if a.child_id])
    body = {"items": [a.as_json() for a in found], "rules": sorted(alert_rules.RULES), "children": named}
    return _answer(ctx, officer, client, q.described("alerts"), q.children(), named, body)


@router.get("/api/export.{fmt}")
def export(fmt: str, ctx: Ctx, officer: IgOfficer, client: ClientAddress, q: Filters) -> Response:
    """Every matching record (up to 100,000) as FHIR AuditEvent NDJSON or CSV."""
    if fmt not in ("ndjson", "csv"):
        raise HTTPException(404, "export formats are ndjson and csv")
    with ctx.engine.connect() as conn:
        items = [i for _, i in zip(range(MAX_EXPORT), audit_search.iterate(conn, q.query), strict=False)]
    if fmt == "csv":
        out = _download(exports.to_csv(items), "text/csv; charset=utf-8", "audit.csv")
    else:
        out = _download(exports.to_ndjson(items), "application/fhir+ndjson", "audit-events.ndjson")
    return _answer(ctx, officer, client, q.described(f"export.{fmt}"), q.children(), {}, out)
