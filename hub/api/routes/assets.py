"""NHS.UK frontend's stylesheet, script and icons, served from the hub itself (no third-party request)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from hub.web import nhsuk_assets

router = APIRouter(include_in_schema=False)


@router.get(nhsuk_assets.PREFIX + "/{name}")
def nhsuk_asset(name: str) -> Response:
    body = nhsuk_assets.read(name)
    if body is None:
        raise HTTPException(404, "no such asset")
    # Versioned names: a new version is a new URL, so the browser may keep this one.
    return Response(
        body,
        media_type=nhsuk_assets.MEDIA_TYPES[name],
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
