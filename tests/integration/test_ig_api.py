"""The IG API over real HTTP against `onestory up`, on SQLite and PostgreSQL.

Audit records are seeded through `append` into the hub's own database (as the API's read paths write them),
plus one real practitioner read through the hub; then an IG officer searches, reports, reviews, exports and
gets alerts, and every one of those calls is itself in the log, which still verifies.
"""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from fhir.resources.R4B.auditevent import AuditEvent
from sqlalchemy import Engine

from hub.audit.checkpoints import WITNESS_FILE, read_witnesses
from hub.audit.log import AuditRecord, append
from hub.audit.verify import verify
from hub.auth.tokens import load_or_create_signing_key
from hub.db.audit_tables import audit_staff_directory
from hub.db.engine import make_engine
from hub.db.identity_tables import identity_records
from hub.kafka.topics import AUDIT
from tests.support.hub_process import RunningHub

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)
NIGHT = (NOW - timedelta(days=1)).replace(hour=2, minute=0)
# Noon today or yesterday, at least an hour ago: a burst of reads then falls on one local day in working
# hours whatever time the test runs (at 01:00 UTC "the last 90 minutes" spans two days and the night).
NOON = (NOW - timedelta(hours=13)).replace(hour=12, minute=0, second=0)


def _rec(user: str, child: str | None, **kw: object) -> AuditRecord:
    base: dict[str, object] = dict(
        action="read",
        outcome="success",
        user_id=user,
        organisation="RX1",
        role="gp",
        purpose="direct-care",
        child_id=child,
        query="timeline",
        entries=[{"id": "entry-1", "level": "summary"}],
        client_address="10.1.1.1",
        policy_version="2026.11",
        legitimate_relationship=True,
    )
    base.update(kw)
    return AuditRecord(**base)  # type: ignore[arg-type]


def seed(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            audit_staff_directory.insert().values(
                user_id="nurse.smith", organisation="RX1", family_name="Smith", postcode="LS1 4AP"
            )
        )
        conn.execute(
            identity_records.insert().values(
                record_key="rk-1",
                child_id="child-A",
                source_org="RX1",
                identifiers=[],
                invalid_identifiers=[],
                given_name="Sam",
                family_name="SMITH",
                birth_date=None,
                sex="U",
                postcode="ls14ap",
                first_seen=NOW,
            )
        )
        append(conn, _rec("dr.jones", "child-A"), NOW - timedelta(hours=5))
        append(conn, _rec("dr.jones", "child-A", role="camhs-clinician", organisation="RRR"), NOW - timedelta(hours=4))
        append(
            conn,
            _rec("nurse.smith", "child-A", role="school-nurse", organisation="SCH1", legitimate_relationship=False),
            NOW - timedelta(hours=3),
        )
        append(
            conn,
            _rec(
                "dr.who",
                "child-B",
                action="break-glass",
                reason="unconscious in A&E",
                purpose="direct-care",
                legitimate_relationship=False,
            ),
            NOW - timedelta(hours=2),
        )
        append(
            conn,
            _rec("sw.brown", "child-A", outcome="denied", entries=[], role="social-worker", purpose="safeguarding"),
            NOW - timedelta(hours=1),
        )
        for i in range(6):
            append(conn, _rec("night.owl", f"child-N{i}"), NIGHT + timedelta(minutes=i))
        for i in range(32):
            append(conn, _rec("busy.bee", f"child-V{i}"), NOON - timedelta(minutes=90 - i))


def _get(hub: RunningHub, path: str, token: str | None, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(hub.api + path, headers=headers, params=params, timeout=30)


def test_ig_api_end_to_end(running_hub: RunningHub, database_url: str) -> None:
    hub = running_hub
    engine = make_engine(database_url)
    seed(engine)
    ig = hub.token(user="ig.officer", org="ONESTORY", role="ig-officer", purpose="audit")
    gp = hub.token(user="dr.jones", org="RX1", role="gp")

    # 401 without a token, 403 (generic, and audited) for anyone but an IG officer
    assert _get(hub, "/ig/api/audit", None).status_code == 401
    refused = _get(hub, "/ig/api/audit", gp)
    assert refused.status_code == 403 and "IG" not in refused.text
    # a real practitioner read is audited before it answers
    assert _get(hub, "/api/children/no-such-child/timeline", gp).status_code == 404

    # search: child, user, organisation, role, purpose, outcome, date range; newest first; keyset paging
    body = _get(hub, "/ig/api/audit", ig, child="child-A").json()
    assert [i["user"] for i in body["items"]] == ["sw.brown", "nurse.smith", "dr.jones", "dr.jones"]
    assert (
        _get(hub, "/ig/api/audit", ig, user="dr.jones", organisation="RRR").json()["items"][0]["role"]
        == "camhs-clinician"
    )
    assert (
        len(
            _get(hub, "/ig/api/audit", ig, role="social-worker", purpose="safeguarding", outcome="denied").json()[
                "items"
            ]
        )
        == 1
    )
    denied = _get(hub, "/ig/api/audit", ig, action="deny", user="dr.jones").json()["items"]
    assert denied and denied[0]["query"] == "ig:/ig/api/audit" and denied[0]["outcome"] == "denied"
    read = _get(hub, "/ig/api/audit", ig, action="read", outcome="not-found").json()["items"]
    assert read and read[0]["user"] == "dr.jones"
    night_day = NIGHT.date().isoformat()
    assert (
        len(_get(hub, "/ig/api/audit", ig, user="night.owl", **{"from": night_day, "to": night_day}).json()["items"])
        == 6
    )
    assert _get(hub, "/ig/api/audit", ig, user="night.owl", **{"from": NOW.date().isoformat()}).json()["items"] == []
    page1 = _get(hub, "/ig/api/audit", ig, user="busy.bee", limit="20").json()
    page2 = _get(hub, "/ig/api/audit", ig, user="busy.bee", limit="20", before=str(page1["next"])).json()
    assert len(page1["items"]) == 20 and len(page2["items"]) == 12 and page2["next"] is None
    assert not {i["seq"] for i in page1["items"]} & {i["seq"] for i in page2["items"]}
    assert _get(hub, "/ig/api/audit", ig, **{"from": "yesterday"}).status_code == 400

    # no clinical content anywhere in what IG sees
    for item in body["items"]:
        assert set(item) <= {
            "seq",
            "recordedAt",
            "action",
            "outcome",
            "user",
            "organisation",
            "role",
            "purpose",
            "childId",
            "query",
            "entries",
            "clientAddress",
            "policyVersion",
            "reason",
            "legitimateRelationship",
            "detail",
        }

    # disclosure report for one child, CSV and PDF
    report = _get(hub, "/ig/api/children/child-A/disclosures.csv", ig)
    assert report.status_code == 200 and "attachment" in report.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(report.text)))
    assert rows[0][:5] == ["When (UTC)", "Who", "Organisation", "Role", "Why"]
    assert {r[1] for r in rows[1:]} == {"dr.jones", "nurse.smith", "sw.brown", "ig.officer"}  # IG looked too
    assert any("no legitimate relationship" in r[4] for r in rows[1:])
    pdf = _get(hub, "/ig/api/children/child-A/disclosures.pdf", ig)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")

    # accesses without a legitimate relationship
    unrelated = _get(hub, "/ig/api/unrelated", ig).json()["items"]
    assert {i["user"] for i in unrelated} == {"nurse.smith", "dr.who"}

    # break-glass review queue with its deadline, and a decision (once)
    queue = _get(hub, "/ig/api/break-glass", ig).json()
    (item,) = queue["items"]
    assert item["user"] == "dr.who" and item["reason"] == "unconscious in A&E" and not item["overdue"]
    due = datetime.fromisoformat(item["reviewDue"]) - datetime.fromisoformat(item["recordedAt"])
    assert due == timedelta(days=queue["reviewDays"])
    url = f"{hub.api}/ig/api/break-glass/{item['seq']}/decision"
    headers = {"Authorization": f"Bearer {ig}"}
    assert httpx.post(url, headers=headers, json={"decision": "maybe"}, timeout=10).status_code == 400
    assert (
        httpx.post(url, headers=headers, json={"decision": "appropriate", "note": "A&E"}, timeout=10).status_code == 201
    )
    assert httpx.post(url, headers=headers, json={"decision": "appropriate"}, timeout=10).status_code == 409
    assert _get(hub, "/ig/api/break-glass", ig).json()["items"] == []
    decided = _get(hub, "/ig/api/break-glass", ig, include_decided="true").json()["items"]
    assert decided[0]["review"]["decision"] == "appropriate"

    # privacy alerts from the documented rules
    alerts = _get(hub, "/ig/api/alerts", ig).json()["items"]
    by_rule = {(a["rule"], a["user"]) for a in alerts}
    assert ("surname-postcode", "nurse.smith") in by_rule
    assert ("out-of-hours", "night.owl") in by_rule
    assert ("unusual-volume", "busy.bee") in by_rule
    assert ("no-relationship", "nurse.smith") in by_rule
    assert ("no-relationship", "dr.who") not in by_rule  # break-glass has its own queue

    # exports: FHIR AuditEvent NDJSON (each line valid R4B) and CSV
    ndjson = _get(hub, "/ig/api/export.ndjson", ig, child="child-A")
    lines = ndjson.text.strip().splitlines()
    assert len(lines) >= 4
    for line in lines:
        event = AuditEvent.model_validate(json.loads(line))
        assert event.entity and event.entity[0].what and event.entity[0].what.reference == "Patient/child-A"
    exported = list(csv.DictReader(io.StringIO(_get(hub, "/ig/api/export.csv", ig, user="busy.bee").text)))
    assert len(exported) == 32 and exported[0]["action"] == "read"

    # every IG call above is itself in the log, and the chain still verifies against the hub's signed heads
    own = _get(hub, "/ig/api/audit", ig, user="ig.officer", limit="500").json()["items"]
    assert {"ig-access", "ig-review"} <= {i["action"] for i in own}
    assert any(i["query"].startswith("disclosure-report.pdf") for i in own)
    data_dir = Path(hub.data_dir)
    deadline = time.monotonic() + 20
    while not (data_dir / WITNESS_FILE).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    with engine.connect() as conn:
        result = verify(conn, load_or_create_signing_key(data_dir).public_key(), read_witnesses(data_dir))
    assert result.ok, result.problem
    assert result.checkpoints_checked >= 1 and result.signatures_checked
    engine.dispose()
    # the same signed heads were exported to onestory.audit.v1 as witnesses
    exported_heads = _audit_topic(hub.kafka)
    assert exported_heads and {h["jws"] for h in exported_heads} <= set(read_witnesses(data_dir))


def _audit_topic(kafka: str, timeout: float = 20.0) -> list[dict[str, object]]:
    consumer = Consumer({"bootstrap.servers": kafka, "group.id": "test-audit", "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(AUDIT, timeout=10).topics[AUDIT].partitions
        consumer.assign([TopicPartition(AUDIT, p, OFFSET_BEGINNING) for p in partitions])
        found: list[dict[str, object]] = []
        deadline = time.monotonic() + timeout
        while not found and time.monotonic() < deadline:
            for message in consumer.consume(100, timeout=1.0):
                if message.error() is None and message.key() == b"checkpoint":
                    found.append(json.loads(message.value() or b"{}"))
        return found
    finally:
        consumer.close()
