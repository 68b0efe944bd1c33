"""GET /self-referral and its assets. No build step: the files beside this module are served as they are."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, Response

from connectors.self_referral.map import AREAS, CONTACT_METHODS, MAY_TELL

router = APIRouter(tags=["self-referral"])
_ASSETS = {"style.css": "text/css; charset=utf-8", "form.js": "text/javascript; charset=utf-8"}
_CONTACT_WORDS = {"phone": "Phone call", "text": "Text message", "email": "Email", "letter": "Letter"}


def _read(name: str) -> str:
    return resources.files("hub.web.self_referral").joinpath(name).read_text(encoding="utf-8")


def _checkboxes(name: str, choices: dict[str, str]) -> str:
    return "\n".join(
        f'<div class="choice"><input type="checkbox" id="{name}-{value}" name="{name}" value="{value}">'
        f'<label for="{name}-{value}">{words}</label></div>'
        for value, words in choices.items()
    )


def render_page() -> str:
    """The page's choices come from the connector's own lists, so the form and the validation never disagree."""
    contact = "\n".join(
        f'<div class="choice"><input type="radio" id="contact_method-{m}" name="contact_method" value="{m}">'
        f'<label for="contact_method-{m}">{_CONTACT_WORDS[m]}</label></div>'
        for m in CONTACT_METHODS
    )
    return (
        _read("page.html")
        .replace("{{areas}}", _checkboxes("areas", AREAS))
        .replace("{{may_tell}}", _checkboxes("may_tell", {k: v[0] for k, v in MAY_TELL.items()}))
        .replace("{{do_not_tell}}", _checkboxes("do_not_tell", {k: v[0] for k, v in MAY_TELL.items()}))
        .replace("{{contact_methods}}", contact)
    )


@router.get("/self-referral", response_class=HTMLResponse)
def self_referral_page() -> HTMLResponse:
    return HTMLResponse(render_page())  # security headers: hub.api.security_headers


@router.get("/self-referral/{asset}")
def self_referral_asset(asset: str) -> Response:
    if asset not in _ASSETS:
        raise HTTPException(404, "no such file")
    return Response(_read(asset), media_type=_ASSETS[asset])
