"""Assembles the HTTP API from its routers."""

from __future__ import annotations

from fastapi import FastAPI

from hub.api import errors
from hub.api.context import ApiContext
from hub.api.routes import fhir, health, timeline


def create_api(ctx: ApiContext) -> FastAPI:
    app = FastAPI(title="OneStory hub", version="0.1.0", docs_url=None, redoc_url=None)
    app.state.ctx = ctx
    errors.install(app)
    app.include_router(health.router)
    app.include_router(fhir.router)
    app.include_router(timeline.router)
    return app
