"""Every HL7 v2 sample over the real MLLP socket to a running hub: AA, or AE/AR with ERR, and nothing lost.

Accepted messages reach the SQL event archive; rejected ones reach the dead-letter table with their reason.
Runs on SQLite and on the local PostgreSQL.
"""

from __future__ import annotations

import json

import pytest

from connectors.hl7v2.mllp_client import ack_code, send_message
from tests.conftest import hl7_samples
from tests.integration.connectors_helpers import cli, deadletter_rows, engine_for, wait_for
from tests.support.hub_process import RunningHub
from tests.unit.connectors.hl7_expectations import ACCEPTED_KINDS, OUT_OF_SCOPE

pytestmark = pytest.mark.integration


def test_every_sample_is_acknowledged_and_nothing_is_lost(running_hub: RunningHub, database_url: str) -> None:
    hub = running_hub
    samples = hl7_samples()
    codes = {}
    for path in samples:
        ack = send_message(hub.mllp_host, hub.mllp_port, path.read_bytes(), timeout=30)
        code = ack_code(ack)
        codes[path.name] = code
        if path.name in ACCEPTED_KINDS:
            assert code in ("AA", "CA"), (path.name, ack)
        else:
            location, why = OUT_OF_SCOPE[path.name]
            assert code in ("AR", "CR"), (path.name, ack)  # out of scope: HL7's reject, with the reason
            assert b"ERR" in ack and location.encode() in ack
            assert why.encode() in ack

    # A merge is taken like any other event (identity resolution builds on it).
    assert codes.get("uclh-emap_ADT_A40_v2.4_merge.hl7", "CA") in ("AA", "CA")

    engine = engine_for(database_url)
    rejected = [p.name for p in samples if p.name in OUT_OF_SCOPE]

    def all_kept() -> list[object] | None:
        found = deadletter_rows(engine)
        return found if len(found) >= len(rejected) else None

    rows = wait_for(all_kept, 30, "every rejected message in the dead-letter table")
    assert len(rows) == len(rejected)
    assert all(r.connector == "hl7v2" and r.phase == "mapping" and "not taken by this hub" in r.reason for r in rows)
    assert {r.body for r in rows} == {p.read_bytes() for p in samples if p.name in OUT_OF_SCOPE}

    listed = cli("deadletter", "list", "--database", database_url, "--json")
    assert listed.returncode == 0, listed.stderr
    assert len([json.loads(line) for line in listed.stdout.splitlines()]) == len(rejected)

    # Re-sending everything creates no second dead letter (same bytes, same reason).
    for path in samples:
        send_message(hub.mllp_host, hub.mllp_port, path.read_bytes(), timeout=30)
    assert len(deadletter_rows(engine)) == len(rejected)
    engine.dispose()
