"""Security headers on every HTTP response, decided in this one place.

Pages (text/html) get a strict Content-Security-Policy: scripts, styles and connections from the hub's own
origin only, no plugins, no <base>, forms posting only back to the hub, and `frame-ancestors 'none'` except
where a page is meant to be embedded (the viewer, framed by the EPR origins in `viewer_frame_ancestors`).
Every other response (JSON, FHIR, CSV, PDF, scripts and styles) gets `default-src 'none'`: nothing in it may
run or be framed. All responses get nosniff, no referrer (URLs may carry a launch id or an authorization
code), no powerful browser features, and `Cache-Control: no-store` unless a route chose otherwise; pages are
always no-store, since what they show is personal data.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
)
OTHER_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
PERMISSIONS = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
)
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": PERMISSIONS,
}


def security_headers(path: str, content_type: str, frame_ancestors: Mapping[str, str]) -> dict[str, str]:
    """The headers for a response at `path`; `frame_ancestors` maps a path prefix to the origins that may frame it."""
    headers = dict(ALWAYS)
    if content_type.split(";")[0].strip().lower() != "text/html":
        return headers | {"Content-Security-Policy": OTHER_CSP, "X-Frame-Options": "DENY"}
    embeddable = next(
        (origins for prefix, origins in frame_ancestors.items() if path == prefix or path.startswith(prefix + "/")),
        None,
    )
    ancestors = embeddable or "'none'"
    headers |= {"Content-Security-Policy": PAGE_CSP.format(ancestors=ancestors), "Cache-Control": "no-store"}
    if embeddable is None:
        # For browsers without frame-ancestors. It cannot name the EPR origins an embeddable page allows, so such
        # a page relies on its CSP alone.
        headers["X-Frame-Options"] = "DENY"
    return headers


class SecurityHeaders:
    """Pure ASGI middleware: adds the headers when the response starts (error responses included)."""

    def __init__(self, app: ASGIApp, frame_ancestors: Mapping[str, str]) -> None:
        self.app = app
        self.frame_ancestors = dict(frame_ancestors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                wanted = security_headers(path, headers.get("content-type", ""), self.frame_ancestors)
                for name, value in wanted.items():
                    headers[name] = value
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_secured)
