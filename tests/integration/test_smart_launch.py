"""SMART App Launch (EHR launch with PKCE) end to end over HTTP against a running hub."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from connectors.identifiers import NHS_NUMBER_SYSTEM
from tests.integration.test_fhir_api import get, publish_story, token
from tests.support.hub_process import RunningHub

pytestmark = pytest.mark.integration
CLIENT = "onestory-viewer"


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def _authorize(hub: RunningHub, config: dict[str, Any], launch: str, challenge: str, **override: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": f"{hub.api}/viewer",
        "launch": launch,
        "scope": "launch patient/*.read openid",
        "state": "s-123",
        "aud": f"{hub.api}/fhir",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    } | override
    reply = httpx.get(config["authorization_endpoint"], params=params, follow_redirects=False, timeout=10)
    assert reply.status_code == 302, reply.text
    location = reply.headers["location"]
    assert location.startswith(f"{hub.api}/viewer?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _exchange(config: dict[str, Any], hub: RunningHub, code: str, verifier: str) -> httpx.Response:
    return httpx.post(
        config["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"{hub.api}/viewer",
            "client_id": CLIENT,
            "code_verifier": verifier,
        },
        timeout=10,
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_ehr_launch_gives_a_patient_scoped_token(running_hub: RunningHub) -> None:
    hub = running_hub
    child_id = publish_story(hub)
    config = httpx.get(f"{hub.api}/fhir/.well-known/smart-configuration", timeout=10).json()
    assert "launch-ehr" in config["capabilities"] and config["code_challenge_methods_supported"] == ["S256"]
    assert httpx.get(config["jwks_uri"], timeout=10).json()["keys"][0]["kty"] == "EC"

    epr = token(hub, "gp")
    assert httpx.post(f"{hub.api}/smart/launch", json={"patient": child_id}, timeout=10).status_code == 401
    assert (
        httpx.post(
            f"{hub.api}/smart/launch",
            json={"patient": "nobody"},
            timeout=10,
            headers={"Authorization": f"Bearer {epr}"},
        ).status_code
        == 404
    )
    reply = httpx.post(
        f"{hub.api}/smart/launch", json={"patient": child_id}, timeout=10, headers={"Authorization": f"Bearer {epr}"}
    )
    assert reply.status_code == 200, reply.text
    launch = reply.json()["launch"]
    assert reply.json()["iss"] == f"{hub.api}/fhir" and reply.json()["viewer"].startswith(f"{hub.api}/viewer?")

    verifier, challenge = _pkce()
    answer = _authorize(hub, config, launch, challenge)
    assert answer["state"] == "s-123" and "code" in answer
    assert _exchange(config, hub, answer["code"], "not-the-verifier").json()["error"] == "invalid_grant"
    granted = _exchange(config, hub, answer["code"], verifier)
    assert granted.status_code == 200 and granted.headers["cache-control"] == "no-store"
    body = granted.json()
    assert body["patient"] == child_id and body["token_type"] == "Bearer" and "patient/*.read" in body["scope"]
    again = _exchange(config, hub, answer["code"], verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

    access = body["access_token"]
    assert get(hub, f"/fhir/Patient/{child_id}/$everything", access).status_code == 200
    assert get(hub, "/fhir/Patient/someone-else", access).status_code == 403
    found = get(hub, "/fhir/Patient", access, identifier=f"{NHS_NUMBER_SYSTEM}|9434765870").json()
    assert found["total"] == 1 and found["entry"][0]["resource"]["id"] == child_id
    assert get(hub, "/fhir/Observation", access, patient="someone-else").status_code == 403

    # Refusals: wrong audience or no PKCE come back to the app as OAuth errors; unknown redirects never do.
    assert _authorize(hub, config, launch, challenge, aud="https://elsewhere/fhir")["error"] == "invalid_request"
    assert _authorize(hub, config, launch, challenge, code_challenge_method="plain")["error"] == "invalid_request"
    assert _authorize(hub, config, "forged", challenge)["error"] == "invalid_grant"
    bad_redirect = httpx.get(
        config["authorization_endpoint"],
        timeout=10,
        follow_redirects=False,
        params={
            "response_type": "code",
            "client_id": CLIENT,
            "redirect_uri": "https://evil.example/cb",
            "launch": launch,
        },
    )
    assert bad_redirect.status_code == 400
