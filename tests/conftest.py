"""Shared fixtures: the embedded broker, a fresh PostgreSQL database, a running hub, the sample corpus."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hub.kafka.embedded_broker import EmbeddedBroker
from tests.support.hub_process import RunningHub, start_hub

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "samples"
SHARED_SAMPLES = ROOT.parent / "shared" / "samples"
PG_ADMIN_URL = "postgresql+psycopg://root@127.0.0.1:5432/postgres"


def sample_directory(folder: Path) -> Path:
    """The bundled directory plus one test organisation sending under every HL7 sample's MSH-4 (from loopback)."""
    from connectors.hl7v2.parse import normalise, read_header
    from hub.directory_file import default_directory_text

    facilities = sorted({read_header(normalise(p.read_bytes())).sending_facility for p in hl7_samples()})
    quoted = ", ".join(f'"{f}"' for f in facilities if f)
    path = folder / "organisations.yaml"
    path.write_text(
        default_directory_text()
        + f"  - {{code: SAMPLES, code_system: local, type: acute-trust, name: Public HL7 v2 samples (tests), "
        f"hl7_facilities: [{quoted}], mllp: {{addresses: [127.0.0.1]}}}}\n",
        encoding="utf-8",
    )
    return path


def hl7_samples() -> list[Path]:
    """Permissive samples always; the copyleft ones only where ../shared/samples is present."""
    found = sorted((SAMPLES / "hl7v2").glob("*.hl7"))
    shared = SHARED_SAMPLES / "hl7v2"
    if shared.is_dir():
        names = {p.name for p in found}
        found += sorted(p for p in shared.glob("*.hl7") if p.name not in names)
    return found


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as b:
        yield b


def _create_pg_database() -> str:
    name = f"onestory_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name


def _drop_pg_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the local server, dropped afterwards."""
    name = _create_pg_database()
    try:
        yield f"postgresql+psycopg://root@127.0.0.1:5432/{name}"
    finally:
        _drop_pg_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'onestory.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'onestory.db'}"
    else:
        name = _create_pg_database()
        try:
            yield f"postgresql+psycopg://root@127.0.0.1:5432/{name}"
        finally:
            _drop_pg_database(name)


@pytest.fixture
def running_hub(tmp_path: Path, database_url: str) -> Iterator[RunningHub]:
    """`onestory up` on the embedded broker, once per database backend.

    Its organisation directory is the bundled one plus the senders of the public HL7 v2 samples, which would
    otherwise be refused as unknown senders before their content is read.
    """
    hub = start_hub(tmp_path / "var", database_url, ["--directory", str(sample_directory(tmp_path))])
    try:
        yield hub
    finally:
        if hub.process.poll() is None:
            hub.stop()
        # Shown by pytest only when the test failed: what the hub itself said, so a CI failure can be read.
        sys.stderr.write("".join(hub.stderr[-200:])[-20000:])
