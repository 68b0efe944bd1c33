"""HL7 v2 senders are typed by MSH-4 through the organisation directory, over the real MLLP socket.

A GP practice sending under its local facility name is attributed to its ODS code and typed gp-practice (never
an acute trust); a sender the directory does not know is refused (AR, an ERR naming MSH-4) and its message kept
in the dead-letter store. Runs on SQLite and on the local PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connectors.hl7v2.mllp_client import ack_code, send_message
from hub.db.tables import event_store
from hub.events.codec import EventCodec
from tests.integration.connectors_helpers import deadletter_rows, engine_for, wait_for
from tests.support.hub_process import RunningHub

pytestmark = pytest.mark.integration


def adt(facility: str, control: str, nhs: str) -> bytes:
    return (
        f"MSH|^~\\&|EMIS|{facility}|ONESTORY|HUB|20261101093000||ADT^A04|{control}|P|2.4\r"
        "EVN|A04|20261101093000\r"
        f"PID|1||L{control}^^^{facility}^MR~{nhs}^^^NHS^NH||Senders^Sam||20120304|F|||^^^^LS1 4AP\r"
        "PV1|1|O|GPCLINIC^^^SURGERY\r"
    ).encode()


def test_a_gp_practice_is_typed_by_the_directory_and_an_unknown_sender_is_refused(
    running_hub: RunningHub, database_url: str
) -> None:
    hub = running_hub
    unknown = adt("NOWHERE-PAS", "SENDERS001", "9434765870")
    ack = send_message(hub.mllp_host, hub.mllp_port, unknown, timeout=30)
    assert ack_code(ack) == "AR", ack
    assert b"ERR" in ack and b"MSH-4" in ack and b"NOWHERE-PAS" in ack and b"organisation directory" in ack

    ack = send_message(hub.mllp_host, hub.mllp_port, adt("RIVERSIDE-EMIS", "SENDERS002", "9434765870"), timeout=30)
    assert ack_code(ack) == "AA", ack

    engine = engine_for(database_url)
    kept = wait_for(lambda: deadletter_rows(engine) or None, 30, "the unknown sender's message dead-lettered")
    assert len(kept) == 1 and kept[0].connector == "hl7v2" and kept[0].phase == "sender"
    assert "NOWHERE-PAS" in kept[0].reason and bytes(kept[0].body) == unknown

    def archived() -> list[object] | None:
        with engine.connect() as conn:
            rows = conn.execute(select(event_store.c.source_org, event_store.c.body)).all()
        return list(rows) or None

    rows = wait_for(archived, 60, "the GP practice's event in the event store")
    codec = EventCodec.load()
    (row,) = rows
    event = codec.decode(bytes(row.body))  # type: ignore[attr-defined]
    assert row.source_org == "A81001"  # type: ignore[attr-defined]
    assert event["source"]["organisation"] == "A81001"
    assert event["source"]["organisation_type"] == "gp-practice"
    engine.dispose()
