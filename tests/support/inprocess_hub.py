"""The API in process (ASGI) over a SQLite file holding the cross-agency story, projected as the worker does.

For tests that need the real routes, read models, consent engine and audit log but not the broker.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.publisher import Publisher
from hub.api.context import ApiContext
from hub.api.main import create_api
from hub.auth.tokens import TokenVerifier, issue_token, load_or_create_signing_key
from hub.bench.read import project_child
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.events.codec import EventCodec
from hub.outbound.config import OutboundConfig
from hub.outbound.views import ViewAlerts
from hub.policy_files import load_policy
from hub.settings import HubSettings
from tests.support.story import GP, story


class _MemoryProducer:
    """Stands in for the broker: the intake routes publish here (their durability is tested elsewhere)."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    def send_all(self, records: Sequence[Any], timeout: float = 20.0) -> None:
        self.records.extend(records)


async def healthy() -> dict[str, Any]:
    return {"database": {"status": "ok"}}


class InProcessHub:
    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.engine = make_engine(f"sqlite:///{root / 'onestory.db'}")
        upgrade(self.engine)
        self.child_id = project_child(self.engine, story())
        codec = EventCodec.load()
        settings = HubSettings(data_dir=root)
        ctx = ApiContext(
            engine=self.engine,
            codec=codec,
            verifier=TokenVerifier.local(root),
            health=healthy,
            policy=load_policy(None),
            publisher=Publisher(_MemoryProducer(), codec),  # type: ignore[arg-type]
            settings=settings,
            view_alerts=ViewAlerts.load(OutboundConfig.load(settings.outbound)),
        )
        self.app = create_api(ctx)
        key = load_or_create_signing_key(root)
        now = datetime.now(UTC)
        self.gp = issue_token(
            key, user="u-gp", organisation=GP, role="gp", purpose="direct-care", now=now, ttl=timedelta(hours=1)
        )
        self.ig = issue_token(
            key,
            user="u-ig",
            organisation="ONESTORY",
            role="ig-officer",
            purpose="audit",
            now=now,
            ttl=timedelta(hours=1),
        )

    def token(self, role: str, organisation: str, purpose: str = "direct-care", **extra: Any) -> str:
        return issue_token(
            load_or_create_signing_key(self.root),
            user=f"u-{role}",
            organisation=organisation,
            role=role,
            purpose=purpose,
            now=datetime.now(UTC),
            ttl=timedelta(hours=1),
            **extra,
        )
