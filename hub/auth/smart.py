"""SMART on FHIR: what a token's scopes allow, and the hub as a minimal EHR-launch authorization server.

Scopes: `user/*.read` (any child the consent engine lets this user see), `patient/*.read` (only the child in
the token's `patient` claim), resource-specific forms such as `patient/Observation.read`, and SMART v2
`.rs`/`.r`/`.s`. A valid token whose scopes or purpose do not allow a request gets 403; a missing or invalid
token gets 401 (hub.api.errors).

EHR launch, embedded default: the EPR, authenticated with its own hub token, asks `POST /smart/launch` for a
launch id naming the child; it opens the app with `launch` and `iss`; the app sends the user to
`/smart/authorize`, which checks the launch, the audience and the redirect, and redirects back with a code;
the app swaps the code (with its PKCE verifier) at `/smart/token` for an access token carrying the patient.
Launch ids and codes are short-lived tokens signed with the hub's key, so any API replica can check them;
each code is accepted once per replica (a shared store would make that global; the 60 s lifetime bounds it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import HTTPException

from hub.auth.tokens import LOCAL_ISSUER, AuthError, Principal, issue_token

CLINICAL_PURPOSES = ("direct-care", "safeguarding")
LAUNCH_TTL = timedelta(minutes=5)
CODE_TTL = timedelta(seconds=60)
ACCESS_TTL = timedelta(hours=1)
PASSTHROUGH_SCOPES = ("launch", "openid", "fhirUser", "online_access")


@dataclass(frozen=True)
class Scope:
    context: str  # user | patient | system
    resource_type: str  # a resource type or "*"


def parse_scope(text: str) -> Scope | None:
    """A clinical read scope, or None for anything else (launch, openid, write scopes...)."""
    context, slash, rest = text.partition("/")
    resource_type, dot, permission = rest.partition(".")
    if not slash or not dot or context not in ("user", "patient", "system") or not resource_type:
        return None
    readable = permission in ("read", "*") or (permission and set(permission) <= set("cruds") and "r" in permission)
    return Scope(context, resource_type) if readable else None


def read_scopes(principal: Principal) -> list[Scope]:
    return [s for s in (parse_scope(t) for t in principal.scopes) if s is not None]


def forbidden(why: str) -> HTTPException:
    return HTTPException(403, why)


def require_clinical_purpose(principal: Principal) -> None:
    if principal.purpose not in CLINICAL_PURPOSES:
        raise forbidden("this token's purpose of use does not allow reading care records")


def require_patient(principal: Principal, child_id: str) -> list[Scope]:
    """The scopes that allow reading this child; 403 if none does."""
    require_clinical_purpose(principal)
    scopes = read_scopes(principal)
    if not scopes:
        raise forbidden("the token has no read scope")
    usable = [s for s in scopes if s.context != "patient" or principal.patient == child_id]
    if not usable:
        raise forbidden("the token is limited to another patient")
    return usable


def allowed_types(scopes: list[Scope]) -> set[str] | None:
    """None: every type; else the resource types named by the scopes."""
    if any(s.resource_type == "*" for s in scopes):
        return None
    return {s.resource_type for s in scopes}


def require_type(scopes: list[Scope], resource_type: str) -> None:
    types = allowed_types(scopes)
    if types is not None and resource_type not in types:
        raise forbidden(f"the token's scopes do not include {resource_type}")


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


class GrantError(Exception):
    """An OAuth error to return to the client: `code` is the RFC 6749 error code."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class SmartServer:
    """Issues launch ids, authorization codes and access tokens with the hub's own signing key."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, audience: str) -> None:
        self._key = key
        self.public_key = key.public_key()
        self._audience = audience
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    def _sign(self, claims: dict[str, Any], now: datetime, ttl: timedelta) -> str:
        body = claims | {
            "iss": LOCAL_ISSUER,
            "aud": "urn:onestory:smart",
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
            "jti": secrets.token_urlsafe(16),
        }
        return jwt.encode(body, self._key, algorithm="ES256")

    def _open(self, token: str, typ: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self.public_key, algorithms=["ES256"], issuer=LOCAL_ISSUER, audience="urn:onestory:smart"
            )
        except jwt.PyJWTError as exc:
            raise GrantError("invalid_grant", f"the {typ} is not valid or has expired") from exc
        if claims.get("typ") != typ:
            raise GrantError("invalid_grant", f"not a {typ}")
        return claims

    def launch(self, principal: Principal, child_id: str, now: datetime) -> str:
        """A launch id: the EPR vouches for its user and names the child in context."""
        return self._sign(
            {
                "typ": "launch",
                "patient": child_id,
                "sub": principal.user,
                "org": principal.organisation,
                "role": principal.role,
                "pou": principal.purpose,
                "user_scopes": any(s.context == "user" for s in read_scopes(principal)),
            },
            now,
            LAUNCH_TTL,
        )

    def authorize(
        self,
        *,
        launch: str,
        client_id: str,
        redirect_uri: str,
        scope: str,
        code_challenge: str | None,
        code_challenge_method: str | None,
        now: datetime,
    ) -> tuple[str, str]:
        """An authorization code bound to the client, redirect, PKCE challenge and launch; and the patient."""
        context = self._open(launch, "launch")
        if not code_challenge or code_challenge_method != "S256":
            raise GrantError("invalid_request", "PKCE is required, with the S256 code challenge method")
        granted = []
        for text in scope.split():
            parsed = parse_scope(text)
            if text in PASSTHROUGH_SCOPES or (
                parsed and (parsed.context == "patient" or (parsed.context == "user" and context["user_scopes"]))
            ):
                granted.append(text)
        if not any(parse_scope(t) for t in granted):
            raise GrantError("invalid_scope", "no read scope that this launch can grant was requested")
        code = self._sign(
            {
                "typ": "code",
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(granted),
                "patient": context["patient"],
                "sub": context["sub"],
                "org": context["org"],
                "role": context["role"],
                "pou": context["pou"],
                "cc": code_challenge,
            },
            now,
            CODE_TTL,
        )
        return code, str(context["patient"])

    def exchange(
        self, *, code: str, client_id: str | None, redirect_uri: str | None, code_verifier: str | None, now: datetime
    ) -> dict[str, Any]:
        claims = self._open(code, "code")
        if client_id != claims["client_id"] or redirect_uri != claims["redirect_uri"]:
            raise GrantError("invalid_grant", "client_id or redirect_uri does not match the authorization request")
        if not code_verifier or not hmac.compare_digest(s256(code_verifier), str(claims["cc"])):
            raise GrantError("invalid_grant", "the PKCE code verifier does not match")
        self._spend(str(claims["jti"]), float(claims["exp"]))
        scopes = tuple(claims["scope"].split())
        try:
            token = issue_token(
                self._key,
                user=claims["sub"],
                organisation=claims["org"],
                role=claims["role"],
                purpose=claims["pou"],
                now=now,
                ttl=ACCESS_TTL,
                scopes=scopes,
                audience=self._audience,
                patient=claims["patient"],
            )
        except AuthError as exc:
            raise GrantError("invalid_grant", str(exc)) from exc
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(ACCESS_TTL.total_seconds()),
            "scope": claims["scope"],
            "patient": claims["patient"],
            "need_patient_banner": False,
        }

    def _spend(self, jti: str, expires: float) -> None:
        with self._lock:
            now = time.time()
            self._used = {k: v for k, v in self._used.items() if v > now}
            if jti in self._used:
                raise GrantError("invalid_grant", "the authorization code has already been used")
            self._used[jti] = expires
