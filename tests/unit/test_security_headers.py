"""The security headers chosen per response (hub.api.security_headers) and the failure messages (hub.failures)."""

from __future__ import annotations

import pydantic
import pytest

from hub.api.security_headers import security_headers
from hub.auth.tokens import AuthError, Principal, require_known
from hub.failures import explain
from hub.settings import HubSettings

EMBEDDABLE = {"/viewer": "'self' https://epr.example"}


def test_pages_are_strict_and_only_the_viewer_may_be_framed() -> None:
    page = security_headers("/ig", "text/html; charset=utf-8", EMBEDDABLE)
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"] and page["X-Frame-Options"] == "DENY"
    assert page["Cache-Control"] == "no-store" and page["Referrer-Policy"] == "no-referrer"
    viewer = security_headers("/viewer", "text/html", EMBEDDABLE)
    assert "frame-ancestors 'self' https://epr.example" in viewer["Content-Security-Policy"]
    assert "X-Frame-Options" not in viewer  # it cannot name the EPR's origin; the CSP does
    assert "frame-ancestors 'none'" in security_headers("/viewerx", "text/html", EMBEDDABLE)["Content-Security-Policy"]


def test_everything_else_may_not_run_or_be_framed() -> None:
    api = security_headers("/viewer/story.json", "application/json", EMBEDDABLE)
    assert api["Content-Security-Policy"].startswith("default-src 'none'") and api["X-Frame-Options"] == "DENY"
    assert api["X-Content-Type-Options"] == "nosniff" and "Cache-Control" not in api  # a route may choose


def test_unknown_role_and_organisation_named_but_not_echoed() -> None:
    who = Principal("u1", "XYZ", "surgeon", "direct-care", ())
    with pytest.raises(AuthError, match="^the token's role and organisation are unknown to this hub$"):
        require_known(who, {"gp"}, {"RX1"})
    assert require_known(Principal("u1", "RX1", "gp", "direct-care", ()), {"gp"}, {"RX1"}).role == "gp"


def test_a_settings_error_never_shows_the_rejected_value() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        HubSettings(partitions="postgresql://u:secret@h/db")  # type: ignore[arg-type]
    what, fix = explain(caught.value) or ("", "")
    assert what.startswith("invalid setting: partitions:") and "secret" not in what + fix


def test_other_errors_are_not_explained() -> None:
    assert explain(ValueError("a bug")) is None and explain(KeyError("x")) is None
