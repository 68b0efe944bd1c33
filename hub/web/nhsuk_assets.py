"""Where pages find NHS.UK frontend: one place that knows the vendored version (hub/web/nhsuk/README.md)."""

from __future__ import annotations

from importlib import resources

VERSION = "10.6.1"
PREFIX = "/assets/nhsuk"
CSS = f"{PREFIX}/nhsuk-frontend-{VERSION}.min.css"
JS = f"{PREFIX}/nhsuk-frontend-{VERSION}.min.js"
MEDIA_TYPES = {
    f"nhsuk-frontend-{VERSION}.min.css": "text/css; charset=utf-8",
    f"nhsuk-frontend-{VERSION}.min.js": "text/javascript; charset=utf-8",
    "nhsuk-icon-arrow-down.svg": "image/svg+xml",
    "nhsuk-icon-arrow-up-down.svg": "image/svg+xml",
    "nhsuk-icon-arrow-up.svg": "image/svg+xml",
    "nhsuk-icon-cross.svg": "image/svg+xml",
    "favicon.svg": "image/svg+xml",
    "favicon.ico": "image/x-icon",
}
# Tags for a page's <head>: the stylesheet and favicon. Pages that want NHS.UK frontend's behaviour (header menu,
# character count) add `<script type="module" src="/assets/nhsuk/init.js">`-style code of their own that imports
# JS and calls initAll(); reading must never depend on it.
HEAD = (
    f'<link rel="stylesheet" href="{CSS}">\n'
    f'<link rel="icon" href="{PREFIX}/favicon.svg" type="image/svg+xml">\n'
    f'<link rel="icon" href="{PREFIX}/favicon.ico" sizes="48x48">'
)


def read(name: str) -> bytes | None:
    """The asset's bytes, or None for a name that is not one of ours (no path is ever joined from input)."""
    if name not in MEDIA_TYPES:
        return None
    return resources.files("hub.web").joinpath("nhsuk", name).read_bytes()
