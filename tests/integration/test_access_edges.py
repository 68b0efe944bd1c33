"""Access edges on a running hub (`onestory up`, SQLite): security headers on every page and response, the IG
API only for the audit purpose, tokens for a role or organisation the hub does not know refused at the door,
and `onestory token` refusing what the hub would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute

from hub.api.context import ApiContext
from hub.api.main import create_api
from hub.auth.tokens import has_signing_key
from hub.cli import main as onestory
from hub.policy_files import load_policy
from hub.settings import HubSettings
from tests.support.hub_process import RunningHub, start_hub

pytestmark = pytest.mark.integration
PAGES = {"/ig", "/viewer", "/self-referral"}  # at least these; the walk finds every HTML route
SAMPLE_PATH_VALUES = {"asset": "viewer.css", "name": "ig.js", "child_id": "no-such-child", "fmt": "json"}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    root = tmp_path_factory.mktemp("access-edges")
    running = start_hub(root / "var", f"sqlite:///{root / 'onestory.db'}")
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.stop()


def _get(hub: RunningHub, path: str, token: str | None = None, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(hub.api + path, headers=headers, params=params, timeout=30)


def _flatten(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router (main.py includes them without a prefix)
            yield from _flatten(route.original_router.routes)


def _routes() -> list[APIRoute]:
    """The hub's own route table (the same create_api that `up` serves); nothing here is called in-process."""
    ctx: Any = ApiContext(
        engine=None,  # type: ignore[arg-type]
        codec=None,  # type: ignore[arg-type]
        verifier=None,  # type: ignore[arg-type]
        health=None,  # type: ignore[arg-type]
        policy=load_policy(None),
        settings=HubSettings(),
        view_alerts=None,  # type: ignore[arg-type]
    )
    return [r for r in _flatten(create_api(ctx).routes) if "GET" in r.methods]


def _concrete(path: str) -> str | None:
    names = re.findall(r"{(\w+)(?::\w+)?}", path)
    if any(n not in SAMPLE_PATH_VALUES for n in names):
        return None
    return re.sub(r"{(\w+)(?::\w+)?}", lambda m: SAMPLE_PATH_VALUES[m.group(1)], path)


def _assert_common(path: str, reply: httpx.Response) -> None:
    h = reply.headers
    assert h.get("x-content-type-options") == "nosniff", path
    assert h.get("referrer-policy") == "no-referrer", path
    assert "camera=()" in h.get("permissions-policy", ""), path
    assert "content-security-policy" in h and "cache-control" in h, path


def test_every_html_page_and_every_response_sends_the_security_headers(hub: RunningHub) -> None:
    html_routes = {
        r.path for r in _routes() if isinstance(r.response_class, type) and issubclass(r.response_class, HTMLResponse)
    }
    assert html_routes >= PAGES, html_routes
    pages_seen: set[str] = set()
    walked = 0
    for route in _routes():
        path = _concrete(route.path)
        if path is None:
            continue
        reply = _get(hub, path)
        walked += 1
        _assert_common(path, reply)
        csp = reply.headers["content-security-policy"]
        if reply.headers.get("content-type", "").startswith("text/html"):
            pages_seen.add(route.path)
            assert reply.status_code == 200, path
            assert reply.headers["cache-control"] == "no-store", path  # pages show personal data
            for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'"):
                assert directive in csp, (path, csp)
            ancestors = "'self'" if path == "/viewer" else "'none'"  # the viewer is embeddable (default 'self')
            assert f"frame-ancestors {ancestors}" in csp, (path, csp)
            assert reply.headers.get("x-frame-options") == (None if path == "/viewer" else "DENY"), path
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        else:  # JSON, FHIR, assets, 401s and 404s: nothing to run, nothing to frame
            assert csp.startswith("default-src 'none'") and "frame-ancestors 'none'" in csp, (path, csp)
            assert reply.headers["x-frame-options"] == "DENY", path
    assert pages_seen == html_routes, "every route declared as HTML answers with a page, and only those"
    assert walked >= 15


def test_error_and_authenticated_responses_carry_the_headers_too(hub: RunningHub) -> None:
    gp = hub.token(user="dr.a", org="RX1", role="gp")
    for path, token in (("/api/children/nobody/timeline", gp), ("/fhir/Patient", None), ("/no-such-route", None)):
        reply = _get(hub, path, token)
        assert reply.status_code in (401, 404), path
        _assert_common(path, reply)
        assert reply.headers["cache-control"] == "no-store"


def test_ig_api_needs_the_audit_purpose(hub: RunningHub) -> None:
    for_care = hub.token(user="ig.care", org="ONESTORY", role="ig-officer", purpose="direct-care")
    auditing = hub.token(user="ig.audit", org="ONESTORY", role="ig-officer", purpose="audit")
    for path in ("/ig/api/audit", "/ig/api/unrelated", "/ig/api/break-glass", "/ig/api/alerts", "/ig/api/export.csv"):
        refused = _get(hub, path, for_care)
        assert refused.status_code == 403, path
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["code"] == "forbidden" and "purpose 'audit'" in problem["detail"], problem
        assert "direct-care" in problem["detail"]
    assert _get(hub, "/ig/api/children/c1/disclosures.json", for_care).status_code == 403
    assert _get(hub, "/ig/api/audit", auditing).status_code == 200
    # every refusal is itself in the access log
    denied = _get(hub, "/ig/api/audit", auditing, user="ig.care", action="deny").json()["items"]
    assert len(denied) == 6 and {d["purpose"] for d in denied} == {"direct-care"}


@pytest.mark.parametrize(
    ("org", "role", "unknown"),
    [
        ("RX1", "surgeon", "role"),
        ("NOT-AN-ORG", "gp", "organisation"),
        ("NOT-AN-ORG", "surgeon", "role and organisation"),
        ("NOT-AN-ORG", "system", "organisation"),
        ("NOT-AN-ORG", "ig-officer", "organisation"),
    ],
)
def test_tokens_for_unknown_roles_or_organisations_are_refused(
    hub: RunningHub, org: str, role: str, unknown: str
) -> None:
    token = hub.token(user="someone", org=org, role=role, purpose="audit" if role == "ig-officer" else "direct-care")
    for path in ("/api/children/nobody/timeline", "/ig/api/audit", "/identity/review", "/viewer/story.json"):
        reply = _get(hub, path, token, patient="nobody")
        assert reply.status_code == 401, (path, reply.text)
        assert (
            reply.json()["detail"]
            == f"the token's {unknown} {'are' if ' and ' in unknown else 'is'} unknown to this hub"
        )
        assert token not in reply.text and org not in reply.text and "surgeon" not in reply.text  # no echo
    fhir = _get(hub, "/fhir/Patient", token, identifier="https://fhir.nhs.uk/Id/nhs-number|9434765870")
    assert fhir.status_code == 401 and fhir.json()["resourceType"] == "OperationOutcome"
    intake = httpx.post(
        hub.api + "/intake/fhir", content=b"{}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert intake.status_code == 401


def test_known_tokens_keep_working(hub: RunningHub) -> None:
    """A connector's system token still reaches intake; a data steward (a hub role, not a policy one) still works."""
    system = hub.token(user="pas-system", org="RX1", role="system")
    empty = httpx.post(
        hub.api + "/intake/fhir",
        content=b" ",
        headers={"Authorization": f"Bearer {system}", "Content-Type": "application/fhir+json"},
        timeout=30,
    )
    assert empty.status_code == 400 and "empty" in empty.text  # past authentication, refused for its body
    steward = hub.token(user="steward-1", org="990", role="data-steward")
    assert _get(hub, "/identity/review", steward).status_code == 200
    gp = hub.token(user="dr.a", org="A81001", role="gp")
    assert _get(hub, "/api/children/nobody/timeline", gp).status_code == 404


# -- onestory token -------------------------------------------------------------------------------------------
def _token(*args: str) -> Any:
    return CliRunner().invoke(onestory, ["token", "--user", "u1", *args])


def test_token_refuses_unknown_roles_and_organisations(hub: RunningHub) -> None:
    role = _token("--data-dir", str(hub.data_dir), "--org", "RX1", "--role", "surgeon")
    assert role.exit_code == 2 and role.stdout == ""
    assert role.stderr.count("\n") == 1 and "unknown role 'surgeon'" in role.stderr
    assert "camhs-clinician" in role.stderr and "ig-officer" in role.stderr and "system" in role.stderr
    org = _token("--data-dir", str(hub.data_dir), "--org", "NOT-AN-ORG", "--role", "gp")
    assert org.exit_code == 2 and org.stdout == ""
    assert org.stderr.count("\n") == 1 and "`onestory orgs list`" in org.stderr


def test_token_refuses_a_data_dir_without_a_signing_key(tmp_path: Path, hub: RunningHub) -> None:
    missing = tmp_path / "no-such-dir"
    refused = _token("--data-dir", str(missing), "--org", "RX1", "--role", "gp")
    assert refused.exit_code == 2 and refused.stdout == "" and refused.stderr.count("\n") == 1
    assert "no signing key" in refused.stderr and "--create-key" in refused.stderr
    assert not missing.exists()
    created = _token("--data-dir", str(missing), "--org", "RX1", "--role", "gp", "--create-key")
    assert created.exit_code == 0 and has_signing_key(missing)
    # a token from another key is refused by the running hub; one from the hub's own data dir is accepted
    assert _get(hub, "/api/children/nobody/timeline", created.stdout.strip()).status_code == 401
    ig = _token("--data-dir", str(hub.data_dir), "--org", "ONESTORY", "--role", "ig-officer", "--purpose", "audit")
    assert ig.exit_code == 0, ig.stderr
    assert _get(hub, "/ig/api/audit", ig.stdout.strip()).status_code == 200
