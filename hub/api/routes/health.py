"""`GET /healthz`: no token; reports each component so operators and `onestory up` see what is not ready."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from hub.api.deps import Ctx

router = APIRouter()


@router.get("/healthz")
async def healthz(ctx: Ctx) -> JSONResponse:
    components = await ctx.health()
    ok = all(c.get("status") == "ok" for c in components.values())
    return JSONResponse(
        {"status": "ok" if ok else "degraded", "components": components}, status_code=200 if ok else 503
    )
