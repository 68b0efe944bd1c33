"""Property-based requests from the API's own OpenAPI (schemathesis): no operation answers 5xx.

In process (ASGI) against a SQLite file holding the cross-agency story, with valid bearer tokens (a GP, and
an IG officer for the /ig operations), so generated requests reach the read models, the consent engine and
the audit log rather than stopping at 401. Path and query parameters naming a child are pointed at the real
child half of the time. Errors under /fhir must be OperationOutcomes; elsewhere, JSON errors are problem
documents. Bounded: a few examples per operation (about a minute here).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from hub.api.context import ApiContext
from hub.api.main import create_api
from hub.auth.tokens import TokenVerifier
from hub.db.engine import make_engine
from hub.events.codec import EventCodec
from hub.outbound.config import OutboundConfig
from hub.outbound.views import ViewAlerts
from hub.policy_files import load_policy
from hub.settings import HubSettings, OutboundSettings
from tests.support.inprocess_hub import InProcessHub, healthy

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHub]:
    running = InProcessHub(tmp_path_factory.mktemp("schemathesis"))
    yield running
    running.engine.dispose()


def _schema() -> Any:
    # The schema is the app's own; building an app for it needs no data (the context is only used per request).
    ctx = ApiContext(
        engine=make_engine("sqlite://"),
        codec=EventCodec.load(),
        verifier=TokenVerifier(None, "https://unused.example", "onestory"),
        health=healthy,
        policy=load_policy(None),
        settings=HubSettings(),
        view_alerts=ViewAlerts.load(OutboundConfig.load(OutboundSettings())),
    )
    return schemathesis.openapi.from_asgi("/openapi.json", create_api(ctx))


schema = _schema()


def _error_body_ok(case: Any, response: Any) -> None:
    if response.status_code < 400:
        return
    media = response.headers.get("content-type", [""])
    media = (media[0] if isinstance(media, list) else media) or ""
    if case.path.startswith("/fhir"):
        assert media.startswith("application/fhir+json"), (case.path, response.status_code, media)
        assert response.json()["resourceType"] == "OperationOutcome"
    elif "json" in media:
        body = response.json()
        assert "detail" in body or "resourceType" in body or "error" in body, (case.path, body)


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("ONESTORY_SCHEMATHESIS_EXAMPLES", "4")),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_5xx(case: Any, hub: InProcessHub) -> None:
    bearer = hub.ig if case.path.startswith("/ig") else hub.gp
    for params in (case.path_parameters, case.query):
        if params is None:
            continue
        for name in ("child_id", "patient", "id"):
            if name in params and zlib.crc32(str(params[name]).encode()) % 2 == 0:
                params[name] = hub.child_id
    response = case.call(app=hub.app, headers={"Authorization": f"Bearer {bearer}"})
    case.validate_response(response, checks=[not_a_server_error])
    _error_body_ok(case, response)
