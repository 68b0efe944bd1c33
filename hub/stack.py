"""The whole hub in one process tree: what `onestory up` starts, watches and stops.

The broker and the Faust worker are child processes (each dies with us, see process_control); the HTTP API
and the MLLP listener share this process's event loop. Stopping is bounded: every child is asked, waited
for a fixed time, then killed by pid, so nothing is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import Engine, make_url, text

from connectors.education.drop_folder import DropFolderWatcher
from connectors.hl7v2.mllp_server import MllpServer
from connectors.publisher import Publisher
from hub.api.context import ApiContext
from hub.api.main import create_api
from hub.audit.checkpoints import start_periodic
from hub.auth.tokens import TokenVerifier
from hub.db.engine import engine_for
from hub.db.migrate import upgrade
from hub.events.codec import EventCodec
from hub.kafka.embedded_broker import EmbeddedBroker, free_port
from hub.kafka.journal import IntakeJournal, journal_engine
from hub.kafka.producer import DurableProducer
from hub.kafka.restore import restore_events
from hub.kafka.security import kafka_client_config
from hub.kafka.topics import admin, ensure_topics
from hub.mllp_edge import mllp_server
from hub.outbound.config import OutboundConfig
from hub.outbound.views import ViewAlerts
from hub.policy_files import load_policy
from hub.process_control import die_with_parent, stop_process
from hub.settings import HubSettings

log = logging.getLogger(__name__)
WORKER_STOP_GRACE = 10.0


def token_verifier(s: HubSettings) -> TokenVerifier:
    """An external OIDC issuer when configured, else the hub's own signing key (embedded default and tests)."""
    if s.oidc_issuer:
        return TokenVerifier(None, s.oidc_issuer, s.oidc_audience, jwks_url=s.oidc_jwks_url)
    return TokenVerifier.local(s.data_dir, s.oidc_audience)


def api_context(
    s: HubSettings, engine: Engine, codec: EventCodec, health: Callable[[], Awaitable[dict[str, Any]]]
) -> ApiContext:
    """What the API needs, the same for `onestory up` and the stand-alone `onestory api`."""
    return ApiContext(
        engine=engine,
        codec=codec,
        verifier=token_verifier(s),
        health=health,
        policy=load_policy(s.policy_file, s.directory_file),
        settings=s,
        view_alerts=ViewAlerts.load(OutboundConfig.load(s.outbound)),
    )


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn without its own signal capture: the stack owns SIGINT/SIGTERM and stops everything in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Stack:
    settings: HubSettings
    broker: EmbeddedBroker | None = None
    bootstrap: str = ""
    engine: Engine | None = None
    worker: subprocess.Popen[bytes] | None = None
    worker_port: int = 0
    producer: DurableProducer | None = None
    mllp: MllpServer | None = None
    api: _EmbeddedUvicorn | None = None
    _api_task: asyncio.Task[None] | None = None
    education_drop: Path | None = None
    _drop_task: asyncio.Task[None] | None = None
    _checkpoint_task: asyncio.Task[None] | None = None  # signed audit chain heads (hub.audit.checkpoints)
    timings: dict[str, float] = field(default_factory=dict)
    journal: IntakeJournal | None = None
    recoveries: list[dict[str, Any]] = field(default_factory=list)  # broker restarts, for /healthz
    recovering: bool = False

    @property
    def security(self) -> dict[str, str]:
        """Client security for an external cluster (hub.kafka.security); the embedded broker is plaintext."""
        return dict(kafka_client_config(self.settings)) if self.settings.kafka else {}

    # -- start -------------------------------------------------------------------------------------------
    def start_infrastructure(self) -> None:
        s = self.settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        if s.kafka:
            self.bootstrap = s.kafka
        else:
            self.broker = EmbeddedBroker().start()
            self.bootstrap = self.broker.bootstrap
        ensure_topics(self.bootstrap, s.partitions, config=self.security)
        self.engine = engine_for(s)
        upgrade(self.engine)

    def start_worker(self) -> None:
        self.worker_port = self.settings.worker_web_port or free_port()
        cmd = [
            sys.executable,
            "-m",
            "hub",
            "worker",
            "--kafka",
            self.bootstrap,
            "--database",
            self.settings.database_url(),
            "--data-dir",
            str(self.settings.data_dir),
            "--web-port",
            str(self.worker_port),
        ]
        # The worker's stdout goes to our stderr: stdout carries only the `ready` line and demo hints.
        env = dict(os.environ)
        if self.settings.policy_file:  # the worker reads its settings from ONESTORY_* like any deployable
            env["ONESTORY_POLICY_FILE"] = str(Path(self.settings.policy_file).resolve())
        if self.settings.directory_file:
            env["ONESTORY_DIRECTORY_FILE"] = str(Path(self.settings.directory_file).resolve())
        self.worker = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=sys.stderr, preexec_fn=die_with_parent, env=env
        )

    async def start_edges(self) -> None:
        assert self.engine is not None
        codec = EventCodec.load()
        self.producer = DurableProducer(self.bootstrap, client_id="onestory-connectors", config=self.security)
        if self.settings.journal_enabled():
            self.journal = IntakeJournal(journal_engine(self.engine), self.producer, archive=self.engine).start(
                fresh_broker=self.broker is not None
            )
        publisher = Publisher(self.journal or self.producer, codec, deadletter_store=self.engine)
        self.mllp = mllp_server(self.settings, publisher, self.engine)  # limits, TLS, sender binding and its audit
        await self.mllp.start()
        s = self.settings
        ctx = api_context(s, self.engine, codec, self.health)
        ctx.publisher = publisher  # the /intake routes publish through the same durable producer as MLLP
        api = create_api(ctx)
        if self.education_drop is not None:
            self._drop_task = asyncio.create_task(DropFolderWatcher(self.education_drop, publisher).run())
        config = uvicorn.Config(
            api,
            host=s.api_host,
            port=s.api_port,
            log_level="warning",
            lifespan="off",
            log_config=None,
            access_log=False,
        )  # JSON logs; no URLs with identifiers
        self.api = _EmbeddedUvicorn(config)
        self._api_task = asyncio.create_task(self.api.serve())
        self._checkpoint_task = start_periodic(self.engine, s.data_dir, self.producer)

    # -- health ------------------------------------------------------------------------------------------
    async def health(self) -> dict[str, Any]:
        broker: dict[str, Any] = {"status": "recovering"} if self.recovering else await self._check(self._broker_ok)
        if self.broker is not None:
            broker["restarts"] = len(self.recoveries)
            if self.recoveries:
                broker["last_recovery"] = self.recoveries[-1]
        if self.journal is not None:
            broker["journal"] = self.journal.stats.as_dict()
        return {
            "broker": broker,
            "database": await self._check(self._database_ok),
            "worker": await self._worker_health(),
            "mllp": {"status": "ok" if self.mllp and self.mllp.listening else "down"},
        }

    @staticmethod
    async def _check(probe: Any) -> dict[str, Any]:
        try:
            await asyncio.wait_for(asyncio.to_thread(probe), timeout=3)
            return {"status": "ok"}
        except Exception as exc:  # noqa: BLE001 - a health probe reports any failure instead of raising
            return {"status": "down", "error": type(exc).__name__}

    def _broker_ok(self) -> None:
        admin(self.bootstrap, self.security).list_topics(timeout=2)

    def _database_ok(self) -> None:
        assert self.engine is not None
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def _worker_health(self) -> dict[str, Any]:
        if self.worker is None or self.worker.poll() is not None:
            return {"status": "down", "error": "worker process not running"}
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                reply = await client.get(f"http://127.0.0.1:{self.worker_port}/healthz")
            body: dict[str, Any] = reply.json()
            return {"status": "ok" if reply.status_code == 200 else "starting", **body}
        except (httpx.HTTPError, ValueError) as exc:
            return {"status": "starting", "error": type(exc).__name__}

    async def wait_ready(self, timeout: float) -> None:
        """Ready once the API answers healthy and the worker's page answers at all: the worker serves it only
        after provisioning the outbound feed topics, so an agency consumer that assigns its feed's partitions
        on `ready` finds them (assigned before they existed, librdkafka saw records only after its next metadata
        refresh, minutes later). The worker's partitions may still be assigning: input is kept until then."""
        deadline = asyncio.get_running_loop().time() + timeout
        api_url = f"http://{self.settings.api_host}:{self.settings.api_port}/healthz"
        worker_url = f"http://127.0.0.1:{self.worker_port}/healthz"
        async with httpx.AsyncClient(timeout=3) as client:
            while True:
                try:
                    if (await client.get(api_url)).status_code == 200 and (
                        self.worker is None or (await client.get(worker_url)).status_code in (200, 503)
                    ):
                        return
                except httpx.HTTPError:
                    pass
                if self.worker is not None and self.worker.poll() is not None:
                    raise RuntimeError(f"the worker exited with code {self.worker.returncode} during start-up")
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"not every component answered within {timeout:.0f}s: {await self.health()}")
                await asyncio.sleep(0.25)

    def ready_line(self) -> str:
        s = self.settings
        db = make_url(s.database_url()).render_as_string(hide_password=True)
        api = f"http://{s.api_host}:{s.api_port}"
        return (
            f"ready api={api} fhir={api}/fhir mllp={s.mllp_host}:{self.mllp.port if self.mllp else s.mllp_port} "
            f"kafka={self.bootstrap} database={db} data_dir={s.data_dir}"
        )

    async def supervise(self, max_restarts: int = 5) -> None:
        """Watch every child: a dead embedded broker is restarted and the pipeline recovered (recover_broker);
        a dead worker is restarted (its agents resume from their tracked offsets), up to a few times in a row."""
        restarts = 0
        while True:
            await asyncio.sleep(0.5)
            if self.broker is not None and self.broker.process is not None and self.broker.process.poll() is not None:
                log.error("the embedded broker exited with code %s; restarting it", self.broker.process.returncode)
                await asyncio.to_thread(self.recover_broker)
                continue
            if self.worker is None or self.worker.poll() is None:
                continue
            if restarts >= max_restarts:
                log.error(
                    "the worker exited with code %s again; not restarting after %d restarts",
                    self.worker.returncode,
                    restarts,
                )
                return
            restarts += 1
            log.error(
                "the worker exited with code %s; restarting (%d of %d)", self.worker.returncode, restarts, max_restarts
            )
            await asyncio.sleep(min(2.0**restarts, 30.0))
            self.start_worker()

    def recover_broker(self) -> None:
        """After the embedded broker died (its log was in memory): stop the worker, start a new broker on the
        same address, restore the log from the SQL event store, republish the journal's entries whose events
        the event store does not hold, and start the worker again on the new topics."""
        assert self.broker is not None and self.engine is not None
        t0 = time.monotonic()
        self.recovering = True
        try:
            if self.worker is not None:
                stop_process(self.worker, signal.SIGTERM, 3.0)
            self.broker.process = None
            self.broker.start()
            ensure_topics(self.bootstrap, self.settings.partitions, config=self.security)
            if self.producer is not None:
                self.producer.reconnect()
            restorer = DurableProducer(self.bootstrap, client_id="onestory-restore", config=self.security)
            restored = restore_events(self.engine, restorer)
            restorer.close()
            if self.journal is not None:
                self.journal.resync(reset_relayed=True)
            self.start_worker()
        finally:
            self.recovering = False
        seconds = time.monotonic() - t0
        self.recoveries.append(
            {"at": datetime.now(UTC).isoformat(timespec="seconds"), "seconds": round(seconds, 2), "restored": restored}
        )
        log.warning("embedded broker recovered in %.1fs: %d archived events restored to the log", seconds, restored)

    def child_pids(self) -> list[int]:
        procs = [self.worker, self.broker.process if self.broker else None]
        return [p.pid for p in procs if p is not None]

    # -- stop --------------------------------------------------------------------------------------------
    async def stop(self) -> None:
        """Stop in dependency order: intake first, the broker last; each step is bounded."""
        t0 = time.monotonic()
        if self._drop_task:
            self._drop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drop_task
        if self._checkpoint_task:
            self._checkpoint_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoint_task
        if self.mllp:
            await self.mllp.stop()
        if self.api and self._api_task:
            self.api.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._api_task, timeout=10)
        self.timings["stop.edges"] = time.monotonic() - t0
        if self.worker:
            await asyncio.to_thread(stop_process, self.worker, signal.SIGTERM, WORKER_STOP_GRACE)
        self.timings["stop.worker"] = time.monotonic() - t0
        if self.journal:
            await asyncio.to_thread(self.journal.stop)
        if self.producer:
            self.producer.close()
        if self.broker:
            self.broker.stop()
        if self.engine:
            self.engine.dispose()
        self.timings["stop.all"] = time.monotonic() - t0
        log.info("stopped: %s", {k: round(v, 2) for k, v in self.timings.items() if k.startswith("stop")})
