"""Issue 9 end to end: one trace from the MLLP socket to the projection, and no personal data in telemetry.

`onestory up` and its worker subprocess both write every span, metric export and log record to one
JSON-lines file (ONESTORY_TELEMETRY_FILE). The test sends an ADT^A01 full of the child's details over real
MLLP, reads the child back through the API (FHIR search by NHS number, then the timeline), stops the hub
and reads the file: the expected spans form one trace intake → publish → process → project, the reads and
their audit are traced, the metrics exist, and none of the child's details appear anywhere.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.hl7v2.mllp_client import ack_code, send_message
from tests.support.hub_process import RunningHub, start_hub

pytestmark = pytest.mark.integration

NHS = "9434765870"
MRN = "M7Q31925"
FAMILY, GIVEN = "Zebedayo", "Quilliam"
DOB = "20110304"
POSTCODE = "LS1 4AP"
STREET = "17 Wyndwhistle Row"
FREE_TEXT = "worried about sleeping at Grandmothers flat"
ADT_A01 = (
    "MSH|^~\\&|PAS|RX1|ONESTORY|HUB|20261101093000||ADT^A01|MSGTEL01|P|2.4\r"
    "EVN|A01|20261101093000\r"
    f"PID|1||{MRN}^^^RX1^MR~{NHS}^^^NHS^NH||{FAMILY}^{GIVEN}||{DOB}|F|||{STREET}^^Leeds^^{POSTCODE}\r"
    f"PV1|1|E|AE^CUB1|||||||||||||||V777\r"
    f"NTE|1||{FREE_TEXT}\r"
).encode()

BAD_NHS = "9434765871"  # fails its check digit: no usable identifier, so the message is dead-lettered
UNUSABLE = (
    ADT_A01.decode()
    .replace("MSGTEL01", "MSGTEL02")
    .replace(f"{MRN}^^^RX1^MR~{NHS}^^^NHS^NH", f"{BAD_NHS}^^^NHS^NH")
    .encode()
)

PERSONAL = [
    NHS,
    "943 476 5870",
    BAD_NHS,
    MRN,
    FAMILY,
    GIVEN,
    DOB,
    "2011-03-04",
    "04/03/2011",
    POSTCODE,
    "LS14AP",
    STREET,
    "Wyndwhistle",
    FREE_TEXT,
    "Grandmother",
]


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _get(hub: RunningHub, path: str, token: str) -> httpx.Response:
    return httpx.get(hub.api + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _read_back(hub: RunningHub, token: str, within: float = 15.0) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        bundle = _get(hub, f"/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{NHS}", token).json()
        if bundle.get("total"):
            child_id: str = bundle["entry"][0]["resource"]["id"]
            reply = _get(hub, f"/api/children/{child_id}/timeline", token)
            if reply.status_code == 200 and reply.json()["entries"]:
                return child_id
        time.sleep(0.2)
    raise AssertionError("the admission was not readable through the API in time")


def _metric_names(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """metric name → its data points, over every export of every process."""
    found: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        for rm in rec.get("resource_metrics", []):
            for sm in rm.get("scope_metrics", []):
                for metric in sm.get("metrics", []):
                    found.setdefault(metric["name"], []).extend(metric["data"].get("data_points", []))
    return found


@pytest.fixture
def telemetry_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environment inherited by `onestory up` and, through it, by its worker subprocess."""
    path = tmp_path / "telemetry.jsonl"
    monkeypatch.setenv("ONESTORY_TELEMETRY_FILE", str(path))
    monkeypatch.setenv("ONESTORY_LOG_LEVEL", "info")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "500")
    return path


def test_one_trace_from_socket_to_projection_and_no_personal_data(
    tmp_path: Path, sqlite_url: str, telemetry_file: Path
) -> None:
    hub = start_hub(tmp_path / "var", sqlite_url)
    try:
        ack = send_message(hub.mllp_host, hub.mllp_port, ADT_A01)
        assert ack_code(ack) == "AA", ack
        assert ack_code(send_message(hub.mllp_host, hub.mllp_port, UNUSABLE)) == "AE"
        token = hub.token(org="RX1", role="gp")
        child_id = _read_back(hub, token)
        time.sleep(1.5)  # at least two metric exports after the reads
    finally:
        code, _ = hub.stop()
    assert code == 0, "".join(hub.stderr)[-3000:]

    text = telemetry_file.read_text()
    records = _records(telemetry_file)
    spans = [r for r in records if r["signal"] == "span"]
    logs = [r for r in records if r["signal"] == "log"]
    metrics = _metric_names([r for r in records if r["signal"] == "metrics"])

    # -- no personal data anywhere: spans, metrics, logs (including the HTTP layer's) ----------------------
    lowered = text.lower()
    leaked = [p for p in PERSONAL if p.lower() in lowered]
    assert not leaked, f"personal data in telemetry: {leaked}"
    assert child_id not in text, "the hub's child id is an identifier of the child too"

    # -- one trace: intake → publish → process → project, each the parent of the next ---------------------
    def one(name: str) -> dict[str, Any]:
        matches = [s for s in spans if s["name"] == name]
        assert matches, f"no span {name!r}; saw {sorted({s['name'] for s in spans})}"
        return matches[0]

    intake = one("hl7v2 intake")
    publish = one("publish onestory.intake.v1")
    process = one("process onestory.intake.v1")
    project = one("project onestory.events.v1")
    chain = [intake, publish, process, project]
    assert len({s["context"]["trace_id"] for s in chain}) == 1
    for parent, child in zip(chain, chain[1:], strict=False):
        assert child["parent_id"] == parent["context"]["span_id"], (parent["name"], child["name"])
    assert intake["attributes"]["onestory.intake.result"] == "aa"
    assert {s["resource"]["attributes"]["service.name"] for s in chain} == {"onestory-hub", "onestory-worker"}

    # -- reads and their audit are traced, with role and purpose only ----------------------------------------
    read = [s for s in spans if s["name"] == "read timeline"][-1]  # the read that returned the admission
    # the read is the practitioner's own trace, linked to the ingest trace of the entry it disclosed
    assert intake["context"]["trace_id"] in {link["context"]["trace_id"] for link in read["links"]}
    assert read["attributes"]["onestory.viewer.role"] == "gp"
    assert read["attributes"]["onestory.disclosure.full"] >= 1
    audits = [
        s for s in spans if s["name"] == "audit append" and s["context"]["trace_id"] == read["context"]["trace_id"]
    ]
    assert audits and audits[0]["parent_id"] == read["context"]["span_id"]
    assert one("read patient-search")["attributes"]["onestory.read.action"] == "patient-search"

    # -- metrics: per organisation type, role and level; never per child --------------------------------------
    assert one("store deadletters")["attributes"]["db.sql.table"] == "deadletters"
    for name in (
        "onestory.deadletters",
        "onestory.events.in",
        "onestory.events.out",
        "onestory.projection.latency",
        "onestory.reads",
        "onestory.disclosure.decisions",
        "onestory.consumer.lag",
    ):
        assert metrics.get(name), f"metric {name} missing; saw {sorted(metrics)}"
    assert {p["attributes"]["source.organisation_type"] for p in metrics["onestory.events.in"]} <= {
        "acute-trust",
        "unknown",
        "other",
    }
    assert any(p["attributes"]["role"] == "gp" for p in metrics["onestory.reads"])

    # -- structured logs carry trace ids that join them to the spans -------------------------------------------
    assert logs and all({"ts", "level", "logger", "message", "service"} <= set(r) for r in logs)
    span_traces = {s["context"]["trace_id"].removeprefix("0x") for s in spans}
    assert any(r.get("trace_id") in span_traces for r in logs), "no log line carries a trace id of a span"
