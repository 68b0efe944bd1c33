"""SMART App Launch endpoints: discovery, the EPR's launch request, authorize and token (EHR launch, PKCE).

In the embedded default the hub is the authorization server and signs with its own key. With an external
OIDC issuer configured (production), discovery points at that issuer and the hub's own authorize, token and
launch endpoints answer 404: the issuer runs the launch and the hub only verifies its tokens.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse

from hub.api.audited import audited, record
from hub.api.deps import ClientAddress, Ctx, Viewer
from hub.auth import smart
from hub.auth.tokens import LOCAL_ISSUER, Principal, load_or_create_signing_key
from hub.read import children

router = APIRouter()
VIEWER_CLIENT = "onestory-viewer"
SCOPES = ["launch", "openid", "fhirUser", "patient/*.read", "user/*.read", "patient/*.rs", "user/*.rs"]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _server(request: Request, ctx: Ctx) -> smart.SmartServer:
    s = ctx.settings
    if s.oidc_issuer:
        raise HTTPException(404, "the external OIDC issuer is the authorization server in this deployment")
    server: smart.SmartServer | None = getattr(request.app.state, "smart_server", None)
    if server is None:
        server = smart.SmartServer(load_or_create_signing_key(s.data_dir), s.oidc_audience)
        request.app.state.smart_server = server
    return server


def _root(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/.well-known/smart-configuration")
@router.get("/fhir/.well-known/smart-configuration")
def smart_configuration(request: Request, ctx: Ctx) -> JSONResponse:
    s = ctx.settings
    root = _root(request)
    if s.oidc_issuer:
        body: dict[str, Any] = {
            "issuer": s.oidc_issuer,
            "jwks_uri": s.oidc_jwks_url,
            "authorization_endpoint": s.smart_authorization_endpoint or f"{s.oidc_issuer.rstrip('/')}/authorize",
            "token_endpoint": s.smart_token_endpoint or f"{s.oidc_issuer.rstrip('/')}/token",
        }
    else:
        body = {
            "issuer": LOCAL_ISSUER,
            "jwks_uri": f"{root}/smart/jwks",
            "authorization_endpoint": f"{root}/smart/authorize",
            "token_endpoint": f"{root}/smart/token",
        }
    body |= {
        "grant_types_supported": ["authorization_code"],
        "response_types_supported": ["code"],
        "token_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SCOPES,
        "capabilities": [
            "launch-ehr",
            "client-public",
            "context-ehr-patient",
            "permission-patient",
            "permission-user",
            "permission-v1",
            "permission-v2",
        ],
    }
    return JSONResponse(body)


@router.get("/smart/jwks")
def jwks(request: Request, ctx: Ctx) -> JSONResponse:
    """The hub's public signing key, so that apps and other services can verify its tokens."""
    server = _server(request, ctx)
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(server.public_key))
    return JSONResponse({"keys": [jwk | {"use": "sig", "alg": "ES256"}]})


Server = Annotated[smart.SmartServer, Depends(_server)]


async def launch_patient(request: Request) -> str:
    """The child named by the launch request's body, or 400."""
    try:
        body = await request.json()
        return str(body["patient"]).removeprefix("Patient/")
    except (ValueError, KeyError, TypeError) as exc:
        raise HTTPException(400, 'the body must be {"patient": "<id>"}') from exc


LaunchPatient = Annotated[str, Depends(launch_patient)]


def launcher(child_id: LaunchPatient, viewer: Viewer) -> Principal:
    """A token that may read the child it launches for (scopes, patient context, clinical purpose); else 403."""
    smart.require_patient(viewer, child_id)
    return viewer


@router.post("/smart/launch")
async def launch(
    request: Request,
    ctx: Ctx,
    viewer: Viewer,
    client: ClientAddress,
    server: Server,
    child_id: LaunchPatient,
    _launcher: Annotated[Principal, Depends(launcher)],
) -> JSONResponse:
    """The EPR (with its user's hub token) asks for a launch id naming the child in context.

    Answered in this order: 401 without a valid token, 404 with an external issuer, 400 for a body that names
    no patient, 403 for a token that may not read it.
    """
    now = datetime.now(UTC)
    with ctx.engine.connect() as conn:
        exists = children.child_exists(conn, child_id)
    access = record(
        viewer,
        client,
        "smart-launch",
        "success" if exists else "not-found",
        child_id=child_id if exists else None,
        query="smart/launch",
    )
    exists = audited(ctx, access, exists)
    if not exists:
        raise HTTPException(404, "no such patient")
    launch_id = server.launch(viewer, child_id, now)
    viewer_url = f"{_root(request)}/viewer?" + urlencode({"launch": launch_id, "iss": f"{_root(request)}/fhir"})
    return JSONResponse({"launch": launch_id, "iss": f"{_root(request)}/fhir", "viewer": viewer_url}, headers=NO_STORE)


def _redirect_allowed(request: Request, ctx: Ctx, redirect_uri: str) -> bool:
    target = urlsplit(redirect_uri)
    own = urlsplit(_root(request))
    same_origin = (target.scheme, target.netloc) == (own.scheme, own.netloc)
    return (same_origin and target.path == "/viewer") or redirect_uri in ctx.settings.smart_redirect_uris


@router.get("/smart/authorize")
def authorize(request: Request, ctx: Ctx) -> RedirectResponse:
    """Checks the launch, audience and redirect, then redirects back with a one-use code (or an error)."""
    server = _server(request, ctx)
    q = request.query_params
    redirect_uri = q.get("redirect_uri", "")
    if not q.get("client_id") or not _redirect_allowed(request, ctx, redirect_uri):
        raise HTTPException(400, "unknown client or redirect_uri not registered")

    def back(params: dict[str, str]) -> RedirectResponse:
        state = {"state": q["state"]} if q.get("state") else {}
        sep = "&" if urlsplit(redirect_uri).query else "?"
        return RedirectResponse(redirect_uri + sep + urlencode(params | state), status_code=302, headers=NO_STORE)

    if q.get("response_type") != "code":
        return back({"error": "unsupported_response_type"})
    if (q.get("aud") or "").rstrip("/") != f"{_root(request)}/fhir":
        return back({"error": "invalid_request", "error_description": "aud must be this server's FHIR base URL"})
    if not q.get("launch"):
        return back({"error": "invalid_request", "error_description": "only the EHR launch is supported"})
    try:
        code, _patient = server.authorize(
            launch=q["launch"],
            client_id=q["client_id"],
            redirect_uri=redirect_uri,
            scope=q.get("scope", ""),
            code_challenge=q.get("code_challenge"),
            code_challenge_method=q.get("code_challenge_method"),
            now=datetime.now(UTC),
        )
    except smart.GrantError as exc:
        return back({"error": exc.code, "error_description": exc.description})
    return back({"code": code})


@router.post("/smart/token")
async def token(request: Request, ctx: Ctx) -> JSONResponse:
    """authorization_code → access token with the patient in context (OAuth errors as RFC 6749 JSON)."""
    server = _server(request, ctx)
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    try:
        if form.get("grant_type") != "authorization_code":
            raise smart.GrantError("unsupported_grant_type", "only authorization_code is supported")
        if not form.get("code"):
            raise smart.GrantError("invalid_request", "code is required")
        body = server.exchange(
            code=form["code"],
            client_id=form.get("client_id"),
            redirect_uri=form.get("redirect_uri"),
            code_verifier=form.get("code_verifier"),
            now=datetime.now(UTC),
        )
    except smart.GrantError as exc:
        return JSONResponse(
            {"error": exc.code, "error_description": exc.description}, status_code=400, headers=NO_STORE
        )
    return JSONResponse(body, headers=NO_STORE)
