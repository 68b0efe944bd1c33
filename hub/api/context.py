"""Everything the API needs, built once by the caller and handed to create_api (no import-time globals)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from consent_engine import Policy
from hub.auth.tokens import TokenVerifier
from hub.events.codec import EventCodec
from hub.outbound.views import ViewAlerts
from hub.settings import HubSettings


@dataclass
class ApiContext:
    engine: Engine
    codec: EventCodec
    verifier: TokenVerifier
    health: Callable[[], Awaitable[dict[str, Any]]]
    policy: Policy
    # The deployable's settings (SMART authorization server, viewer framing, intake limits), built in main().
    settings: HubSettings
    # The "who looked" alert's configuration and feed codec, read once where the API is built.
    view_alerts: ViewAlerts
    # connectors.publisher.Publisher for the /intake routes; None = intake answers 503 (e.g. a read-only API).
    publisher: Any = None
