"""Discovery, the external-issuer path and the page headers, in process (no database reads needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from sqlalchemy import create_engine

from hub.api.context import ApiContext
from hub.api.main import create_api
from hub.auth.tokens import TokenVerifier
from hub.events.codec import EventCodec
from hub.outbound.config import OutboundConfig
from hub.outbound.views import ViewAlerts
from hub.policy_files import load_policy
from hub.settings import HubSettings


async def _health() -> dict[str, Any]:
    return {}


def _client(settings: HubSettings, verifier: TokenVerifier) -> TestClient:
    ctx = ApiContext(
        engine=create_engine("sqlite://"),
        codec=EventCodec.load(),
        verifier=verifier,
        health=_health,
        policy=load_policy(None),
        settings=settings,
        view_alerts=ViewAlerts.load(OutboundConfig.load(settings.outbound)),
    )
    return TestClient(create_api(ctx))


def test_external_issuer_runs_the_launch_and_the_hub_only_verifies(tmp_path: Path) -> None:
    settings = HubSettings(
        data_dir=tmp_path,
        oidc_issuer="https://idp.example/realms/nhs",
        oidc_jwks_url="https://idp.example/realms/nhs/certs",
        viewer_frame_ancestors="https://epr.example",
    )
    client = _client(settings, TokenVerifier(None, settings.oidc_issuer or "", "onestory", settings.oidc_jwks_url))
    config = client.get("/.well-known/smart-configuration").json()
    assert config["issuer"] == "https://idp.example/realms/nhs"
    assert config["authorization_endpoint"] == "https://idp.example/realms/nhs/authorize"
    assert config["jwks_uri"] == "https://idp.example/realms/nhs/certs"
    assert client.get("/smart/authorize", params={"client_id": "x"}).status_code == 404
    assert client.post("/smart/token", content="grant_type=authorization_code").status_code == 404
    assert not (tmp_path / "keys").exists()  # the hub made no signing key of its own
    page = client.get("/viewer")
    assert "frame-ancestors https://epr.example" in page.headers["content-security-policy"]
    assert "x-frame-options" not in page.headers


def test_metadata_needs_no_token_and_everything_else_does(tmp_path: Path) -> None:
    client = _client(HubSettings(data_dir=tmp_path), TokenVerifier.local(tmp_path))
    meta = client.get("/fhir/metadata")
    assert meta.status_code == 200 and meta.headers["content-type"].startswith("application/fhir+json")
    statement = CapabilityStatement.model_validate(meta.json())
    types = {r.type for r in statement.rest[0].resource}
    assert {"Patient", "Encounter", "EpisodeOfCare", "CareTeam", "Flag"} <= types
    config = client.get("/fhir/.well-known/smart-configuration").json()
    assert config["authorization_endpoint"].endswith("/smart/authorize") and "launch-ehr" in config["capabilities"]
    for path in (
        "/fhir/Patient/abc",
        "/fhir/Patient/abc/$everything",
        "/fhir/Observation?patient=abc",
        "/viewer/story.json?patient=abc",
    ):
        reply = client.get(path)
        assert reply.status_code == 401 and reply.headers["www-authenticate"].startswith("Bearer"), path
    assert client.get("/fhir/Patient/abc").json()["resourceType"] == "OperationOutcome"
