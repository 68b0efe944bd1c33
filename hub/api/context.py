"""Everything the API needs, built once by the caller and handed to create_api (no import-time globals)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from consent_engine import Policy
from hub.auth.tokens import TokenVerifier
from hub.events.codec import EventCodec
from hub.outbound.views import ViewAlerts


@dataclass
class ApiContext:
    engine: Engine
    codec: EventCodec
    verifier: TokenVerifier
    health: Callable[[], Awaitable[dict[str, Any]]]
    policy: Policy
    # connectors.publisher.Publisher for the /intake routes; None = intake answers 503 (e.g. a read-only API).
    publisher: Any = None
    # hub.settings.HubSettings: SMART authorization server and viewer page settings; None = their defaults.
    settings: Any = None
    # The "who looked" alert's configuration and feed codec, read once where the API is built.
    view_alerts: ViewAlerts = field(default_factory=ViewAlerts.load)
