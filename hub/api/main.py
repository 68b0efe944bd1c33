"""Assembles the HTTP API from its routers."""

from __future__ import annotations

from fastapi import FastAPI

from hub.api import errors
from hub.api.context import ApiContext
from hub.api.routes import (
    assets,
    break_glass,
    fhir,
    health,
    identity,
    intake_education,
    intake_fhir,
    intake_self_referral,
    intake_social_care,
    intake_vcse,
    timeline,
)
from hub.api.routes import ig as ig_routes
from hub.api.routes import my_story as my_story_routes
from hub.api.routes import smart as smart_routes
from hub.api.routes import subscriptions as fhir_subscriptions
from hub.api.routes import viewer as viewer_routes
from hub.api.security_headers import SecurityHeaders
from hub.api.threads import SYNC_THREADS, SyncThreadLimit
from hub.web.self_referral import page as self_referral_page


def create_api(ctx: ApiContext) -> FastAPI:
    # FastAPI's native telemetry traces each request (hub.telemetry scrubs paths and queries); probes are not traced.
    app = FastAPI(
        title="OneStory hub",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        telemetry={"exclude": lambda scope: scope.get("path") == "/healthz"},
    )
    app.state.ctx = ctx
    errors.install(app)
    app.include_router(health.router)
    app.include_router(assets.router)
    app.include_router(fhir_subscriptions.router)  # before fhir.router: its /{type} routes would shadow
    app.include_router(fhir.router)
    app.include_router(smart_routes.router)
    app.include_router(viewer_routes.router)
    app.include_router(timeline.router)
    app.include_router(break_glass.router)
    app.include_router(identity.router)
    for intake_router in (intake_fhir, intake_education, intake_social_care, intake_vcse, intake_self_referral):
        app.include_router(intake_router.router)
    app.include_router(self_referral_page.router)
    app.include_router(ig_routes.router)
    app.include_router(my_story_routes.router)
    app.add_middleware(SyncThreadLimit, threads=SYNC_THREADS)
    # Outermost, so every response gets them; the viewer is the one page an EPR may frame.
    app.add_middleware(SecurityHeaders, frame_ancestors={"/viewer": ctx.settings.viewer_frame_ancestors})
    return app
