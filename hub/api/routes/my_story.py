""" "My story": a practitioner issues a one-time code; a young person or parent signs in and reads and changes.

POST /api/children/{id}/my-story/codes   a practitioner with a legitimate relationship issues a code (shown once)
GET  /my-story                           the sign-in page, or the person's story once signed in (audited first)
POST /my-story/sign-in                   code + date of birth; wrong tries count, the last locks (audited, IG alert)
POST /my-story/check                     what a change will and will not do, before anything is saved
POST /my-story/choices                   the change, sent through the intake as consent events from the person
POST /my-story/ask                       a question or correction for one organisation in the team, through the
                                         intake as the young person's words filed with that organisation
POST /my-story/sign-out

Pages are plain HTML forms (POST, then a redirect or a page): no script is needed. Every form carries a CSRF
token (the session's, or before sign-in a cookie's double); cookies are HttpOnly, SameSite=Strict and scoped to
/my-story. Nothing personal is logged: the audit log holds the code id, never the code or the date tried.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from connectors.batch import Batch
from connectors.intake_runner import run_intake
from connectors.my_story.map import ABOUT, CONNECTOR, MESSAGE_CHARACTERS, map_choices, map_question
from hub.api.audited import audited, record
from hub.api.deps import ClientAddress, Ctx, Viewer
from hub.api.routes.intake_common import IntakePublisher
from hub.audit.log import AuditRecord, append
from hub.auth import access_codes as codes
from hub.auth.tokens import Principal
from hub.disclosure.decide import load_context
from hub.read import children
from hub.read import my_story as read
from hub.settings import HubSettings
from hub.web.my_story import page

router = APIRouter(tags=["my-story"])
SESSION_COOKIE, PRE_COOKIE = "my_story", "my_story_pre"
PATH = "/my-story"
HUB_ORG = "ONESTORY"
SIGN_IN, SELF_READ, SELF_CHANGE, CODE_ISSUED = "sign-in", "self-read", "self-change", "access-code-issued"
SELF_MESSAGE = "self-message"
NOT_PRACTITIONERS = frozenset({"system", "ig-officer"})
FORM_BYTES = 16 * 1024


def _settings(ctx: Any) -> HubSettings:
    settings: HubSettings = ctx.settings
    return settings


# ---- a practitioner issues a code ---------------------------------------------------------------------------


def issuer(child_id: str, ctx: Ctx, viewer: Viewer) -> Principal:
    """A practitioner (a role of the policy, not a system or IG token) whose organisation is in the child's
    team now: the legitimate relationship. Else 403, the same for a child id that does not exist, so that the
    answer never tells someone outside the team whether a child is known to the hub."""
    if viewer.role not in ctx.policy.roles or viewer.role in NOT_PRACTITIONERS:
        raise HTTPException(403, "only a practitioner in the child's team can issue a My story code")
    now = datetime.now(UTC)
    with ctx.engine.connect() as conn:
        team = load_context(conn, child_id).team if children.child_exists(conn, child_id) else []
    if not any(m["organisation"] == viewer.organisation and (m["until"] is None or m["until"] > now) for m in team):
        raise HTTPException(403, "only a practitioner in the child's team can issue a My story code")
    return viewer


Issuer = Annotated[Principal, Depends(issuer)]


@router.post("/api/children/{child_id}/my-story/codes", status_code=201)
def issue_code(
    child_id: str,
    ctx: Ctx,
    who: Issuer,
    client: ClientAddress,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> dict[str, Any]:
    """{"holder": "young-person" | "parental-responsibility", "youngPersonAgrees": bool}. A code for a parent
    needs the young person's agreement when they can decide for themselves (Gillick, or 16 and over)."""
    body = body or {}
    holder = body.get("holder", codes.YOUNG_PERSON)
    if holder not in codes.HOLDERS:
        raise HTTPException(422, f"holder must be one of {', '.join(codes.HOLDERS)}")
    now = datetime.now(UTC)
    settings = _settings(ctx)
    if holder == codes.PARENT and body.get("youngPersonAgrees") is not True:
        with ctx.engine.connect() as conn:
            competent = read.read_my_story(conn, ctx.policy, child_id, codes.PARENT, now).competent
        if competent:
            raise HTTPException(
                409, "the young person can decide for themselves: a parent's code needs their agreement"
            )
    issued: list[codes.IssuedCode] = []

    def store(conn: Connection, _read_id: str, at: datetime) -> None:
        issued.append(
            codes.issue(
                conn,
                child_id,
                holder,
                who.user,
                who.organisation,
                who.role,
                at,
                timedelta(days=settings.my_story_code_days),
            )
        )

    access = record(who, client, CODE_ISSUED, "success", child_id=child_id, query="my-story", detail={"holder": holder})
    audited(ctx, access, None, store)
    code = issued[0]
    return {
        "code": code.code,
        "codeId": code.code_id,
        "holder": holder,
        "expiresAt": code.expires_at.isoformat(),
        "signIn": PATH,
    }


# ---- the person's session -----------------------------------------------------------------------------------


def session(request: Request, ctx: Ctx) -> tuple[codes.Session, str] | None:
    token = request.cookies.get(SESSION_COOKIE)
    with ctx.engine.connect() as conn:
        found = codes.session_of(conn, token, datetime.now(UTC))
    return (found, str(token)) if found else None


MaybeSession = Annotated[tuple[codes.Session, str] | None, Depends(session)]


def _person(s: codes.Session, client: str | None, action: str, **extra: Any) -> AuditRecord:
    return AuditRecord(
        action=action,
        outcome="success",
        user_id=f"my-story:{s.code_id}",
        organisation=HUB_ORG,
        role=s.holder,
        purpose="direct-care",
        child_id=s.child_id,
        query="my-story",
        client_address=client,
        **extra,
    )


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _may_change(story: read.MyStory) -> bool:
    """A young person may always say yes or no (the engine decides when it counts); a parent only while the
    young person cannot decide for themselves."""
    return story.holder == codes.YOUNG_PERSON or not story.competent


@router.get(PATH, response_class=HTMLResponse)
def my_story(request: Request, ctx: Ctx, current: MaybeSession, client: ClientAddress) -> Response:
    if current is None:
        pre = secrets.token_urlsafe(24)
        reply = _html(page.sign_in_page(pre))
        reply.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="strict", path=PATH, secure=_secure(request))
        return reply
    s, _ = current
    now = datetime.now(UTC)
    with ctx.engine.connect() as conn:
        story = read.read_my_story(conn, ctx.policy, s.child_id, s.holder, now)
    sent = request.query_params.get("sent")
    sent_to = next((m.name for m in story.team if sent and m.code == sent), None)
    html = page.story_page(
        story, s.csrf, _may_change(story), saved=request.query_params.get("saved") == "1", sent_to=sent_to
    )
    access = _person(s, client, SELF_READ, entries=story.audit_entries(), policy_version=ctx.policy.version)
    return audited(ctx, access, _html(html))


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form, at most FORM_BYTES (the page's forms are a few hundred bytes); first value of each."""
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > FORM_BYTES:
            raise HTTPException(413, "this form is too large")
    return {k: v[0] for k, v in parse_qs(data.decode("utf-8", "replace"), max_num_fields=64).items()}


def _birth_date(form: Any) -> date | None:
    try:
        return date(int(str(form.get("year", ""))), int(str(form.get("month", ""))), int(str(form.get("day", ""))))
    except (ValueError, OverflowError):
        return None


@router.post(f"{PATH}/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, ctx: Ctx, client: ClientAddress) -> Response:
    form = await _form(request)
    pre = request.cookies.get(PRE_COOKIE)
    sent = str(form.get("csrf", ""))
    if not pre or not secrets.compare_digest(pre, sent):
        return _html(page.sign_in_page(pre or secrets.token_urlsafe(24), "refused"), 400)
    code, born = str(form.get("code", ""))[:40], _birth_date(form)
    result = await asyncio.to_thread(_sign_in, ctx, code, born, client)
    if result.outcome != codes.SIGNED_IN or result.token is None or result.session is None:
        problem = {codes.LOCKED: "locked", codes.REFUSED: "refused"}.get(result.outcome, "wrong")
        if result.outcome == codes.REFUSED and result.failures >= _settings(ctx).my_story_max_tries:
            problem = "locked"
        return _html(page.sign_in_page(pre, problem, code), 403 if problem != "wrong" else 400)
    reply = RedirectResponse(PATH, status_code=303)
    reply.set_cookie(
        SESSION_COOKIE,
        result.token,
        max_age=int((result.session.expires_at - datetime.now(UTC)).total_seconds()),
        httponly=True,
        samesite="strict",
        path=PATH,
        secure=_secure(request),
    )
    reply.delete_cookie(PRE_COOKIE, path=PATH)
    return reply


def _sign_in(ctx: Any, code: str, born: date | None, client: str | None) -> codes.SignIn:
    """The attempt and its audit record in one transaction: a lock is never without its record (and alert)."""
    settings = _settings(ctx)
    now = datetime.now(UTC)
    with ctx.engine.begin() as conn:
        result = codes.sign_in(
            conn,
            code,
            born,
            lambda child_id: read.birth_dates_of(conn, child_id),
            now,
            max_tries=settings.my_story_max_tries,
            session_for=timedelta(minutes=settings.my_story_session_minutes),
        )
        outcome = {codes.SIGNED_IN: "success", codes.LOCKED: "locked"}.get(result.outcome, "denied")
        append(
            conn,
            AuditRecord(
                action=SIGN_IN,
                outcome=outcome,
                user_id=f"my-story:{result.code_id or 'unknown'}",
                organisation=HUB_ORG,
                role=result.holder or "unknown",
                purpose="direct-care",
                child_id=result.child_id,
                query="my-story",
                client_address=client,
                reason=None if outcome == "success" else result.outcome,
                detail={"codeId": result.code_id, "failures": result.failures} if result.code_id else None,
            ),
            now,
        )
    return result


# ---- changing what is shared --------------------------------------------------------------------------------


async def _checked(request: Request, current: tuple[codes.Session, str]) -> tuple[codes.Session, Any]:
    form = await _form(request)
    if not codes.csrf_ok(current[0], str(form.get("csrf", "")) or None):
        raise HTTPException(403, "this form has expired: go back to My story and try again")
    return current[0], form


def _plan(ctx: Any, s: codes.Session, form: Any) -> tuple[read.MyStory, list[dict[str, Any]]]:
    wanted = {}
    for org_kind in read.words().organisations:
        for info_kind in read.words().information:
            value = form.get(f"{org_kind}.{info_kind}")
            if value in (read.YES, read.NO):
                wanted[(org_kind, info_kind)] = str(value)
    with ctx.engine.connect() as conn:
        story = read.read_my_story(conn, ctx.policy, s.child_id, s.holder, datetime.now(UTC))
    if not _may_change(story):
        raise HTTPException(403, "these choices are the young person's to make")
    return story, read.plan_changes(story.choices, wanted)


def _contact(story: read.MyStory, planned: list[dict[str, Any]]) -> str | None:
    """Someone in the team to talk to about the change: not an organisation the change is about."""
    about = {t for p in planned for t in p["organisation_types"]}
    order = read.words().talk_to
    team = sorted(story.team, key=lambda m: order.index(m.type) if m.type in order else len(order))
    return next((f"{m.name} on {m.contact}" for m in team if m.contact and m.type not in about), None)


@router.post(f"{PATH}/check", response_class=HTMLResponse)
async def check(request: Request, ctx: Ctx, current: MaybeSession) -> Response:
    if current is None:
        return RedirectResponse(PATH, status_code=303)
    s, form = await _checked(request, current)
    story, planned = await asyncio.to_thread(_plan, ctx, s, form)
    return _html(page.check_page(planned, s.csrf, _contact(story, planned)))


@router.post(f"{PATH}/choices")
async def save_choices(
    request: Request, ctx: Ctx, current: MaybeSession, pub: IntakePublisher, client: ClientAddress
) -> Response:
    """The change goes in through the intake like any source's consent: the identity step finds the child, the
    projector records it (and audits the consent change), the consent engine applies it to every read."""
    if current is None:
        return RedirectResponse(PATH, status_code=303)
    s, form = await _checked(request, current)
    _, planned = await asyncio.to_thread(_plan, ctx, s, form)
    if not planned:
        return RedirectResponse(PATH, status_code=303)
    now = datetime.now(UTC)
    form_body = {
        "choice_id": f"MS-{s.code_id}-{now:%Y%m%dT%H%M%S%f}",
        "given_by": s.holder,
        "changes": [{k: v for k, v in p.items() if k != "cell"} for p in planned],
    }
    failed = "your change could not be saved just now: please try again"
    await _through_intake(ctx, pub, s, client, SELF_CHANGE, form_body, map_choices, now, failed)
    return RedirectResponse(f"{PATH}?saved=1", status_code=303)


async def _through_intake(
    ctx: Any,
    pub: Any,
    s: codes.Session,
    client: str | None,
    action: str,
    form_body: dict[str, Any],
    mapper: Callable[[bytes, datetime], Batch],
    now: datetime,
    failed: str,
    **detail: str,
) -> None:
    """What the page sends goes in through the intake like any source's input, with the child's identifiers the
    hub holds (the identity step finds the child by them), then the person's action is audited with its events."""
    with ctx.engine.connect() as conn:
        identifiers = read.identifiers_for_intake(conn, s.child_id)
    body = json.dumps({**form_body, "identifiers": identifiers}).encode()
    report = await asyncio.to_thread(
        run_intake,
        pub,
        CONNECTOR,
        body,
        "application/json",
        lambda: mapper(body, now),
        now,
        atomic=True,
        keep_rejected=False,
    )
    if report.status != 200:
        raise HTTPException(503, failed)
    audit = {"codeId": s.code_id, **detail, "eventIds": [e for e, _ in report.accepted]}
    audited(ctx, _person(s, client, action, detail=audit), None)


def _ask_problem(story: read.MyStory, form: Any) -> str | None:
    if story.holder != codes.YOUNG_PERSON:
        raise HTTPException(403, "only the young person can send a message here")
    text = str(form.get("text", "")).strip()
    if form.get("about") not in ABOUT or not text:
        return "missing"
    if not any(m.code and m.code == form.get("to") for m in story.team):
        return "missing"
    return "too_long" if len(text) > MESSAGE_CHARACTERS else None


@router.post(f"{PATH}/ask", response_class=HTMLResponse)
async def ask(
    request: Request, ctx: Ctx, current: MaybeSession, pub: IntakePublisher, client: ClientAddress
) -> Response:
    """A question or a correction for one organisation in the team, through the intake like any source's entry:
    the young person's own words, filed with the organisation it is for (connectors.my_story.map_question). A
    form with a problem comes back with the problem named and what was typed kept."""
    if current is None:
        return RedirectResponse(PATH, status_code=303)
    s, form = await _checked(request, current)
    now = datetime.now(UTC)

    def story_now() -> read.MyStory:
        with ctx.engine.connect() as conn:
            return read.read_my_story(conn, ctx.policy, s.child_id, s.holder, now)

    story = await asyncio.to_thread(story_now)
    problem = _ask_problem(story, form)
    if problem:
        draft = {k: str(form.get(k, ""))[: MESSAGE_CHARACTERS * 2] for k in ("to", "about", "text")}
        html = page.story_page(story, s.csrf, _may_change(story), ask_problem=problem, draft=draft)
        access = _person(s, client, SELF_READ, entries=story.audit_entries(), policy_version=ctx.policy.version)
        return audited(ctx, access, _html(html, 400))
    member = next(m for m in story.team if m.code == form.get("to"))
    form_body = {
        "message_id": f"MS-{s.code_id}-{now:%Y%m%dT%H%M%S%f}",
        "given_by": s.holder,
        "to": {"organisation": member.code, "type": member.type, "name": member.name},
        "about": form.get("about"),
        "text": str(form.get("text", "")).strip(),
    }
    failed = "your message could not be sent just now: please try again"
    await _through_intake(ctx, pub, s, client, SELF_MESSAGE, form_body, map_question, now, failed, to=member.code)
    return RedirectResponse(f"{PATH}?sent={member.code}", status_code=303)


@router.post(f"{PATH}/sign-out", response_class=HTMLResponse)
async def sign_out(request: Request, ctx: Ctx, current: MaybeSession) -> Response:
    if current is not None:
        await _checked(request, current)
        with ctx.engine.begin() as conn:
            codes.end_session(conn, current[1], datetime.now(UTC))
    reply = _html(page.signed_out_page())
    reply.delete_cookie(SESSION_COOKIE, path=PATH)
    return reply


@router.get(f"{PATH}/style.css")
def style() -> Response:
    return Response(page.stylesheet(), media_type="text/css; charset=utf-8")
