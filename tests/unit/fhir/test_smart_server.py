"""SMART scopes and the embedded authorization server's launch → code → token steps (pure, no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import HTTPException

from hub.auth.smart import GrantError, SmartServer, allowed_types, parse_scope, require_patient, s256
from hub.auth.tokens import Principal, TokenVerifier


def now() -> datetime:
    """The real clock at call time: tokens are verified against it, so a module-level constant goes stale."""
    return datetime.now(UTC)


EPR = Principal("u-gp", "A81001", "gp", "direct-care", ("user/*.read",))


def _principal(*scopes: str, patient: str | None = None, purpose: str = "direct-care") -> Principal:
    return Principal("u1", "A81001", "gp", purpose, scopes, patient=patient)


def test_scopes() -> None:
    assert parse_scope("user/*.read") and parse_scope("patient/Observation.rs")
    assert parse_scope("patient/*.write") is None and parse_scope("launch") is None
    with pytest.raises(HTTPException) as denied:
        require_patient(_principal("patient/*.read", patient="c2"), "c1")
    assert denied.value.status_code == 403
    with pytest.raises(HTTPException):
        require_patient(_principal("launch"), "c1")
    with pytest.raises(HTTPException):
        require_patient(_principal("user/*.read", purpose="audit"), "c1")
    assert allowed_types(require_patient(_principal("patient/Flag.read", patient="c1"), "c1")) == {"Flag"}


def test_launch_code_token_with_pkce() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    server = SmartServer(key, "onestory")
    launch = server.launch(EPR, "c1", now())
    verifier = "v" * 50
    code, patient = server.authorize(
        launch=launch,
        client_id="app",
        redirect_uri="https://app/cb",
        scope="launch patient/*.read openid",
        code_challenge=s256(verifier),
        code_challenge_method="S256",
        now=now(),
    )
    assert patient == "c1"
    with pytest.raises(GrantError):
        server.exchange(code=code, client_id="app", redirect_uri="https://app/cb", code_verifier="wrong", now=now())
    reply = server.exchange(
        code=code, client_id="app", redirect_uri="https://app/cb", code_verifier=verifier, now=datetime.now(UTC)
    )
    assert reply["patient"] == "c1" and reply["scope"] == "launch patient/*.read openid"
    principal = TokenVerifier(key.public_key(), "urn:onestory:hub", "onestory").verify(reply["access_token"])
    assert principal.patient == "c1" and principal.organisation == "A81001" and principal.role == "gp"
    with pytest.raises(GrantError, match="already been used"):
        server.exchange(
            code=code, client_id="app", redirect_uri="https://app/cb", code_verifier=verifier, now=datetime.now(UTC)
        )


def test_authorize_refuses_bad_requests() -> None:
    server = SmartServer(ec.generate_private_key(ec.SECP256R1()), "onestory")
    launch = server.launch(EPR, "c1", now())
    base: dict[str, Any] = {"launch": launch, "client_id": "app", "redirect_uri": "https://app/cb", "now": now()}
    with pytest.raises(GrantError, match="PKCE"):
        server.authorize(scope="patient/*.read", code_challenge=None, code_challenge_method=None, **base)
    with pytest.raises(GrantError, match="PKCE"):
        server.authorize(scope="patient/*.read", code_challenge="x", code_challenge_method="plain", **base)
    with pytest.raises(GrantError, match="scope"):
        server.authorize(scope="launch openid", code_challenge="x", code_challenge_method="S256", **base)
    with pytest.raises(GrantError):
        server.authorize(
            **(base | {"launch": "forged"}), scope="patient/*.read", code_challenge="x", code_challenge_method="S256"
        )
    expired = server.launch(EPR, "c1", now() - timedelta(hours=1))
    with pytest.raises(GrantError):
        server.authorize(
            **(base | {"launch": expired}), scope="patient/*.read", code_challenge="x", code_challenge_method="S256"
        )
