"""A batch's new-record lookups fetched at once (BatchSnapshot) decide exactly what per-record reads decide.

The same synthetic intake batches (first sightings, repeats, ADT^A40 merges that move records mid-batch,
NHS numbers seen with another birth date, identifiers that fail their checks) go through
`resolve_events` with the snapshot and without it, on each backend: every event gets the same child or
the same error, and the registry's tables end up the same.
"""

from __future__ import annotations

import copy
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData

from connectors.identifiers import NHS_NUMBER_SYSTEM
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.synth import generate_population, generate_records
from projections.identity import batch as identity_batch
from projections.identity.registry import Registry
from tests.conftest import _create_pg_database, _drop_pg_database
from tests.support.events import event

pytestmark = pytest.mark.integration
TABLES = ["children", "identity_records", "child_identifiers", "identity_reviews", "identity_merges"]


@pytest.fixture(params=["sqlite", "postgresql"])
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
        return
    names = [_create_pg_database(), _create_pg_database()]
    try:
        yield tuple(f"postgresql+psycopg://root@127.0.0.1:5432/{n}" for n in names)  # type: ignore[misc]
    finally:
        for name in names:
            _drop_pg_database(name)


def _events() -> list[dict[str, Any]]:
    rng = random.Random(5)
    records = generate_records(generate_population(150, seed=9), 9)
    out: list[dict[str, Any]] = []
    for n, rec in enumerate(records * 2):  # every record seen twice, the second time mostly known
        e = event("person.registered", "demographics", rec.organisation, "Person", {}, n=n, day=1 + n % 300)
        e["subject"] = copy.deepcopy(rec.subject())
        roll = rng.random()
        if roll < 0.03:
            other = rng.choice(records)
            e["kind"] = "patient.merged"
            e["payload"] = ("onestory.payload.Merge", {"retired_identifiers": other.subject()["identifiers"]})
        elif roll < 0.05 and e["subject"]["birth_date"] is not None:  # same number, another birth date
            e["subject"]["birth_date"] = date(2009, 1, 1)
            e["subject"]["identifiers"].append({"system": "urn:onestory:id:X:MR", "value": f"M{n}", "validated": True})
        elif roll < 0.06:  # digits the check cannot read: the registry raises, the event is dead-lettered
            e["subject"]["identifiers"] = [{"system": NHS_NUMBER_SYSTEM, "value": "²" * 10, "validated": True}]
        elif roll < 0.07:
            e["subject"]["identifiers"] = []
        out.append(e)
    return out


def _run(url: str, snapshot: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], dict[str, list[str]]]:
    rng = random.Random(1)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=rng.getrandbits(128), version=4))
    engine = make_engine(url)
    upgrade(engine)
    dialects = frozenset({engine.dialect.name}) if snapshot else frozenset()
    monkeypatch.setattr(identity_batch, "SNAPSHOT_DIALECTS", dialects)
    registry = Registry.bundled()
    now = datetime(2026, 12, 1, tzinfo=UTC)
    events = _events()
    results: list[str] = []
    for start in range(0, len(events), 300):
        with engine.begin() as conn:
            batch = identity_batch.resolve_events(registry, conn, events[start : start + 300], now)
        results += [str(r) for r in batch]
    meta = MetaData()
    meta.reflect(engine, only=TABLES)
    with engine.connect() as conn:
        tables = {t: sorted(repr(tuple(r)) for r in conn.execute(meta.tables[t].select())) for t in TABLES}
    engine.dispose()
    return results, tables


def test_the_batch_snapshot_decides_as_per_record_reads_do(
    two_databases: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with_snapshot = _run(two_databases[0], True, monkeypatch)
    per_record = _run(two_databases[1], False, monkeypatch)
    results, tables = with_snapshot
    assert results == per_record[0]
    assert tables == per_record[1]
    assert any("subject has no identifier" in r for r in results)
    assert any(r.startswith("invalid literal") for r in results)
    assert tables["identity_merges"] and tables["identity_reviews"]
