"""Who may call what is declared in the route signatures (hub.api.deps); every read answers through `audited`.

In process over SQLite: each refusal keeps its status and words, the IG API's refusals are on the access log,
and a subscription request that is not one is answered 422 before the token's reach is judged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.db.tables import audit_log
from hub.outbound.fhir_subscription import TOPIC_ENTRY
from tests.support.inprocess_hub import InProcessHub
from tests.support.story import CAMHS, GP

SUBSCRIPTION = {
    "resourceType": "Subscription",
    "status": "requested",
    "reason": "referrals",
    "criteria": TOPIC_ENTRY,
    "channel": {"type": "rest-hook", "endpoint": "https://epr.example/hook", "payload": "application/fhir+json"},
}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHub]:
    running = InProcessHub(tmp_path_factory.mktemp("route-dependencies"))
    yield running
    running.engine.dispose()


def _client(hub: InProcessHub) -> TestClient:
    return TestClient(hub.app, base_url="http://testserver")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _last_record(hub: InProcessHub) -> dict[str, Any]:
    with hub.engine.connect() as conn:
        row = conn.execute(select(audit_log).order_by(audit_log.c.seq.desc()).limit(1)).one()
    return dict(row._mapping)


def test_ig_refusals_keep_their_words_and_are_on_the_access_log(hub: InProcessHub) -> None:
    client = _client(hub)
    wrong_role = client.get("/ig/api/audit", headers=_bearer(hub.gp))
    assert wrong_role.status_code == 403 and wrong_role.json()["detail"] == "not permitted"
    denied = _last_record(hub)
    assert (denied["action"], denied["outcome"], denied["query"]) == ("deny", "denied", "ig:/ig/api/audit")
    assert denied["role"] == "gp" and denied["client_address"] == "testclient"

    direct_care = hub.token("ig-officer", "ONESTORY", purpose="direct-care")
    wrong_purpose = client.get("/ig/api/break-glass", headers=_bearer(direct_care))
    assert wrong_purpose.status_code == 403
    assert wrong_purpose.json()["detail"] == (
        "the IG API needs a token with purpose 'audit'; this token's purpose is 'direct-care'"
    )
    assert _last_record(hub)["query"] == "ig:/ig/api/break-glass"

    allowed = client.get("/ig/api/break-glass", headers=_bearer(hub.ig))
    assert allowed.status_code == 200
    access = _last_record(hub)
    assert (access["action"], access["outcome"], access["query"]) == ("ig-access", "success", "break-glass-queue")


def test_steward_and_system_sender_refusals(hub: InProcessHub) -> None:
    client = _client(hub)
    review = client.get("/identity/review", headers=_bearer(hub.gp))
    assert review.status_code == 403 and review.json()["detail"] == "identity review needs the data-steward role"
    steward = client.get("/identity/review", headers=_bearer(hub.token("data-steward", GP)))
    assert steward.status_code == 200 and steward.json()["status"] == "open"

    intake = client.post("/intake/vcse", content=b"{}", headers=_bearer(hub.gp))
    assert intake.status_code == 403
    assert intake.json()["detail"] == ("intake needs a system token (role=system) bound to the sending organisation")
    assert client.post("/intake/vcse", content=b"{}").status_code == 401


def test_a_subscription_request_is_judged_before_the_token_reach(hub: InProcessHub) -> None:
    client = _client(hub)
    steward = _bearer(hub.token("data-steward", GP))  # a hub role the data-sharing policy does not list
    assert client.post("/fhir/Subscription", json={"resourceType": "Patient"}, headers=steward).status_code == 422
    assert client.post("/fhir/Subscription", content=b"not json", headers=steward).status_code == 400
    refused = client.post("/fhir/Subscription", json=SUBSCRIPTION, headers=steward)
    assert refused.status_code == 403
    assert refused.json()["issue"][0]["code"] == "forbidden"
    assert client.post("/fhir/Subscription", json={"resourceType": "Patient"}).status_code == 401

    camhs = _bearer(hub.token("camhs-clinician", CAMHS))
    created = client.post("/fhir/Subscription", json=SUBSCRIPTION, headers=camhs)
    assert created.status_code == 201, created.text
    sub_id = created.json()["id"]
    assert _last_record(hub)["query"] == f"Subscription/{sub_id}"
    assert client.get(f"/fhir/Subscription/{sub_id}", headers=_bearer(hub.gp)).status_code == 404
    assert client.get(f"/fhir/Subscription/{sub_id}", headers=camhs).json()["status"] == "active"
    assert client.delete(f"/fhir/Subscription/{sub_id}", headers=camhs).status_code == 200
    ended = _last_record(hub)
    assert (ended["action"], ended["detail"]) == ("subscription-delete", {"subscription": sub_id})
    assert client.get(f"/fhir/Subscription/{sub_id}", headers=camhs).json()["status"] == "off"


def test_reads_commit_their_record_before_answering(hub: InProcessHub) -> None:
    client = _client(hub)
    missing = client.get("/api/children/no-such-child/timeline", headers=_bearer(hub.gp))
    assert missing.status_code == 404
    record = _last_record(hub)
    assert (record["action"], record["outcome"], record["query"], record["child_id"]) == (
        "read",
        "not-found",
        "timeline",
        None,
    )
    found = client.get(f"/api/children/{hub.child_id}/timeline", headers=_bearer(hub.gp))
    assert found.status_code == 200
    record = _last_record(hub)
    assert (record["outcome"], record["child_id"]) == ("success", hub.child_id)
    assert len(record["entries"]) == len(found.json()["entries"])

    other = hub.token("gp", GP, scopes=("patient/*.read",), patient="someone-else")
    limited = client.get(f"/api/children/{hub.child_id}/timeline", headers=_bearer(other))
    assert limited.status_code == 403 and limited.json()["detail"] == "the token is limited to another patient"
    assert (_last_record(hub)["outcome"], _last_record(hub)["child_id"]) == ("denied", hub.child_id)


def test_a_bad_request_is_answered_400_before_the_token_reach_403(hub: InProcessHub) -> None:
    client = _client(hub)
    audit_purpose = _bearer(hub.ig)  # a valid token whose purpose does not allow reading care records
    assert client.get("/fhir/Patient", params={"identifier": "no-bar"}).status_code == 401
    assert client.get("/fhir/Patient", params={"identifier": "no-bar"}, headers=audit_purpose).status_code == 400
    refused = client.get(
        "/fhir/Patient", params={"identifier": "https://fhir.nhs.uk/Id/nhs-number|1"}, headers=audit_purpose
    )
    assert refused.status_code == 403
    assert (
        refused.json()["issue"][0]["diagnostics"] == "this token's purpose of use does not allow reading care records"
    )

    assert client.post("/smart/launch", json={"patient": hub.child_id}).status_code == 401
    assert client.post("/smart/launch", json={"nobody": 1}, headers=audit_purpose).status_code == 400
    assert client.post("/smart/launch", json={"patient": hub.child_id}, headers=audit_purpose).status_code == 403
    launched = client.post("/smart/launch", json={"patient": f"Patient/{hub.child_id}"}, headers=_bearer(hub.gp))
    assert launched.status_code == 200 and launched.json()["launch"]
    record = _last_record(hub)
    assert (record["action"], record["outcome"], record["child_id"]) == ("smart-launch", "success", hub.child_id)
