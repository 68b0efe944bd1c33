"""Issue 2 end to end: `onestory up`, an ADT^A01 over real MLLP, read back through the authenticated API.

Runs once on SQLite and once on the local PostgreSQL (the `database_url` fixture is parametrised).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from connectors.hl7v2.mllp_client import ack_code, send_message
from hub.auth.tokens import issue_token, load_or_create_signing_key
from tests.integration.connectors_helpers import engine_for, wait_for_deadletters
from tests.support.hub_process import RunningHub, alive

pytestmark = pytest.mark.integration

NHS = "9434765870"
ADT_A01 = (
    "MSH|^~\\&|PAS|RX1|ONESTORY|HUB|20261101093000||ADT^A01|MSG0001|P|2.4\r"
    "EVN|A01|20261101093000\r"
    f"PID|1||M12345^^^RX1^MR~{NHS}^^^NHS^NH||Okafor^Amara||20110304|F|||1 High St^^Leeds^^LS1 4AP\r"
    "PV1|1|E|AE^CUB1|||||||||||||||V777\r"
).encode()
ADT_NO_IDENTIFIER = ADT_A01.replace(f"M12345^^^RX1^MR~{NHS}^^^NHS^NH".encode(), b"").replace(b"MSG0001", b"MSG0002")
NOT_HL7 = b"this is not an HL7 message"


def _get(hub: RunningHub, path: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(hub.api + path, headers=headers, timeout=10)


def _wait_for_timeline(hub: RunningHub, token: str, within: float = 5.0) -> tuple[str, list[dict[str, Any]], float]:
    t0 = time.monotonic()
    while time.monotonic() - t0 < within:
        bundle = _get(hub, f"/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{NHS}", token).json()
        if bundle.get("total"):
            child_id = bundle["entry"][0]["resource"]["id"]
            entries = _get(hub, f"/api/children/{child_id}/timeline", token).json()["entries"]
            if entries:
                return child_id, entries, time.monotonic() - t0
        time.sleep(0.1)
    raise AssertionError(f"the admission was not visible within {within}s")


def _deadletters(database_url: str, expected: int, timeout: float = 20.0) -> list[dict[str, str]]:
    """The SQL dead-letter store, where intake keeps rejected input (the body as sent, with its reason)."""
    engine = engine_for(database_url)
    try:
        rows = wait_for_deadletters(engine, expected, timeout)
    finally:
        engine.dispose()
    return [
        {
            "phase": r.phase,
            "reason": r.reason,
            "connector": r.connector,
            "body": bytes(r.body).decode("utf-8", "replace"),
        }
        for r in rows
    ]


def test_admission_travels_to_the_api_and_the_hub_stops_cleanly(running_hub: RunningHub) -> None:
    hub = running_hub
    ack = send_message(hub.mllp_host, hub.mllp_port, ADT_A01)
    assert ack_code(ack) == "AA"
    assert b"MSA|AA|MSG0001" in ack

    token = hub.token(org="RX1", role="gp")
    child_id, entries, waited = _wait_for_timeline(hub, token)
    assert waited < 5.0
    assert [e["kind"] for e in entries] == ["encounter.started"]
    assert entries[0]["summary"] == "A&E attendance started"
    assert entries[0]["source"]["organisation"] == "RX1"

    bundle = _get(hub, f"/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{NHS}", token).json()
    patient = bundle["entry"][0]["resource"]
    assert patient["id"] == child_id
    assert {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": NHS} in patient["identifier"]
    assert patient["birthDate"] == "2011-03-04"

    # Re-sending the same message is acknowledged again but creates no second entry.
    assert ack_code(send_message(hub.mllp_host, hub.mllp_port, ADT_A01)) == "AA"
    time.sleep(1.5)
    assert len(_get(hub, f"/api/children/{child_id}/timeline", token).json()["entries"]) == 1

    code, children = hub.stop()
    assert code == 0
    assert len(children) >= 2  # the embedded broker and the worker were running
    time.sleep(0.2)
    assert not [pid for pid in children if alive(pid)], "a child process outlived `onestory up`"


def test_rejected_messages_are_acked_with_reasons_and_kept(running_hub: RunningHub, database_url: str) -> None:
    hub = running_hub
    ar = send_message(hub.mllp_host, hub.mllp_port, NOT_HL7)
    assert ack_code(ar) == "AR"
    assert b"ERR|" in ar and b"MSH" in ar

    ae = send_message(hub.mllp_host, hub.mllp_port, ADT_NO_IDENTIFIER)
    assert ack_code(ae) == "AE"
    assert b"MSA|AE|MSG0002" in ae
    assert b"no patient identifier" in ae

    kept = _deadletters(database_url, expected=2)
    by_phase = {d["phase"]: d for d in kept}
    assert set(by_phase) == {"parse", "mapping"}
    assert {d["connector"] for d in kept} == {"hl7v2"}
    assert "does not start with an MSH segment" in by_phase["parse"]["reason"]
    assert by_phase["parse"]["body"] == NOT_HL7.decode()
    assert "PID-3: no patient identifier" in by_phase["mapping"]["reason"]
    assert by_phase["mapping"]["body"].startswith("MSH|")


def test_every_endpoint_but_healthz_needs_a_valid_token(running_hub: RunningHub) -> None:
    hub = running_hub
    health = httpx.get(hub.api + "/healthz", timeout=10)
    assert health.status_code == 200
    assert set(health.json()["components"]) == {"broker", "database", "worker", "mllp"}

    other_key = ec.generate_private_key(ec.SECP256R1())
    good = hub.token()
    claims = jwt.decode(good, options={"verify_signature": False})
    forged = jwt.encode(claims, other_key, algorithm="ES256")
    expired = hub.token(ttl=timedelta(seconds=-60))
    paths = [
        "/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765870",
        "/api/children/00000000-0000-0000-0000-000000000000/timeline",
    ]
    for path in paths:
        for token in (None, "not-a-jwt", forged, expired):
            reply = _get(hub, path, token)
            assert reply.status_code == 401, (path, token and token[:10])
            assert reply.headers["www-authenticate"].startswith("Bearer")
    assert _get(hub, paths[0], good).status_code == 200
    # A SMART patient-context token reads only its own patient: a valid token, so 403 rather than 401.
    key = load_or_create_signing_key(hub.data_dir)
    scoped = issue_token(
        key,
        user="u1",
        organisation="RX1",
        role="gp",
        purpose="direct-care",
        now=datetime.now(UTC),
        scopes=("patient/*.read",),
        patient="some-other-child",
    )
    denied = _get(hub, paths[1], scoped)
    assert denied.status_code == 403 and "another patient" in denied.json()["detail"]
    assert _get(hub, paths[0], None).headers["content-type"].startswith("application/fhir+json")
