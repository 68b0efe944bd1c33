"""Break-glass by API and the "same answer for an existing and an unknown child" rule, through the real routes
(FastAPI TestClient on the in-process hub: real consent engine, SQLite, access log and IG API).

The unrelated viewer is a GP at another practice (Castlegate, A81002): the child's consent covers GP practices,
but Castlegate is not in the team around the child, so without break-glass it sees nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from consent_engine import BreakGlass, Level, Viewer, decide
from hub.db.break_glass_tables import break_glass_declarations
from hub.db.tables import audit_log
from hub.disclosure.decide import entry_of, load_context
from hub.policy_files import load_policy
from hub.read import children
from tests.support.inprocess_hub import InProcessHub
from tests.support.story import SCHOOL

pytestmark = pytest.mark.integration
OTHER_GP = "A81002"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHub]:
    running = InProcessHub(tmp_path_factory.mktemp("break-glass-api"))
    yield running
    running.engine.dispose()


@pytest.fixture
def client(hub: InProcessHub) -> TestClient:
    return TestClient(hub.app, base_url="http://testserver")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _records(hub: InProcessHub, after: int = 0) -> list[dict[str, Any]]:
    with hub.engine.connect() as conn:
        rows = conn.execute(select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq)).all()
    return [dict(r._mapping) for r in rows]


def _last_seq(hub: InProcessHub) -> int:
    records = _records(hub)
    return int(records[-1]["seq"]) if records else 0


def _declare(client: TestClient, token: str, child_id: str, **body: Any) -> Any:
    wanted = {"reason": "emergency-care", "justification": "Unconscious in our surgery, no one can be asked"} | body
    return client.post(f"/api/children/{child_id}/break-glass", json=wanted, headers=_bearer(token))


@pytest.mark.parametrize("what", ["timeline", "summary"])
def test_an_unrelated_viewer_gets_the_same_404_for_an_existing_and_an_unknown_child(
    hub: InProcessHub, client: TestClient, what: str
) -> None:
    unrelated = hub.token("gp", OTHER_GP)
    before = _last_seq(hub)
    existing = client.get(f"/api/children/{hub.child_id}/{what}", headers=_bearer(unrelated))
    unknown = client.get(f"/api/children/{UNKNOWN}/{what}", headers=_bearer(unrelated))
    assert existing.status_code == unknown.status_code == 404
    assert existing.json() == unknown.json()
    assert existing.headers.get("content-type") == unknown.headers.get("content-type")
    denied, not_found = _records(hub, before)
    # IG can find the refused read by the child; nothing of it reached the viewer.
    assert (denied["outcome"], denied["child_id"], denied["query"]) == ("denied", hub.child_id, what)
    assert denied["legitimate_relationship"] is False
    assert (not_found["outcome"], not_found["child_id"]) == ("not-found", None)
    # The related GP still reads the same child.
    assert client.get(f"/api/children/{hub.child_id}/{what}", headers=_bearer(hub.gp)).status_code == 200


def test_declarations_the_policy_does_not_allow(hub: InProcessHub, client: TestClient) -> None:
    gp = hub.token("gp", OTHER_GP)
    reasons = client.get("/api/break-glass/reasons", headers=_bearer(gp)).json()
    assert reasons["allowed"] is True and reasons["maxMinutes"] == 240 and reasons["maxLevel"] == "summary"
    assert {r["code"] for r in reasons["reasons"]} == {"emergency-care", "urgent-safeguarding", "crisis-presentation"}

    bad_reason = _declare(client, gp, hub.child_id, reason="curiosity")
    assert bad_reason.status_code == 422 and "emergency-care" in bad_reason.json()["detail"]
    assert _declare(client, gp, hub.child_id, justification="   ").status_code == 422
    assert _declare(client, gp, hub.child_id, minutes=241).status_code == 422
    # a body without the fields is malformed: the hub's 400 for any request that does not parse
    assert client.post(f"/api/children/{hub.child_id}/break-glass", json={}, headers=_bearer(gp)).status_code == 400

    teacher = hub.token("teacher", SCHOOL)
    assert client.get("/api/break-glass/reasons", headers=_bearer(teacher)).json()["allowed"] is False
    before = _last_seq(hub)
    refused = _declare(client, teacher, hub.child_id)
    assert refused.status_code == 403
    (denial,) = _records(hub, before)
    assert (denial["action"], denial["outcome"], denial["child_id"]) == ("deny", "denied", hub.child_id)
    assert "teacher" in denial["reason"]
    with hub.engine.connect() as conn:
        assert conn.execute(select(break_glass_declarations)).all() == []  # nothing was declared


def _break_glass_levels(hub: InProcessHub, viewer: Viewer, declared: dict[str, Any]) -> dict[str, str]:
    """The oracle: the consent engine itself, asked entry by entry with the declaration on the viewer."""
    policy, now = load_policy(None), datetime.now(UTC)
    glass = BreakGlass(
        reason=declared["reason"],
        justification=declared["justification"],
        child_id=hub.child_id,
        starts_at=datetime.fromisoformat(declared["startsAt"]),
        expires_at=datetime.fromisoformat(declared["expiresAt"]),
    )
    with hub.engine.connect() as conn:
        ctx = load_context(conn, hub.child_id)
        rows = children.timeline(conn, hub.child_id)
    with_glass = Viewer(viewer.user_id, viewer.organisation, viewer.role, viewer.purpose, break_glass=glass)
    out = {}
    for row in rows:
        level = decide(policy, ctx.consents, ctx.relationships, with_glass, entry_of(row), now).level
        if level is not Level.NONE:
            out[row["entry_id"]] = level.value
    return out


def test_break_glass_opens_what_policy_allows_audited_reviewed_and_ends(hub: InProcessHub, client: TestClient) -> None:
    gp = hub.token("gp", OTHER_GP)
    ig = _bearer(hub.ig)
    before = _last_seq(hub)
    declared = _declare(client, gp, hub.child_id)
    assert declared.status_code == 201, declared.text
    body = declared.json()
    lasts = datetime.fromisoformat(body["expiresAt"]) - datetime.fromisoformat(body["startsAt"])
    assert lasts == timedelta(minutes=240) and body["maxLevel"] == "summary"

    timeline = client.get(f"/api/children/{hub.child_id}/timeline", headers=_bearer(gp))
    assert timeline.status_code == 200
    shown = {e["id"]: e["level"] for e in timeline.json()["entries"]}
    assert timeline.json()["breakGlass"]["id"] == body["id"]
    # exactly what the policy's break-glass rule allows: at most summary, consent still applying
    expected = _break_glass_levels(hub, Viewer("u-gp", OTHER_GP, "gp", "direct-care"), body)
    assert shown == expected and shown
    assert set(shown.values()) <= {"summary", "flag"}
    with hub.engine.connect() as conn:
        every = {r["entry_id"] for r in children.timeline(conn, hub.child_id)}
    assert set(shown) < every  # not everything: the CIN plan's lawful basis and such stay closed

    declaration, read = _records(hub, before)
    assert (declaration["action"], declaration["child_id"], declaration["query"]) == (
        "break-glass",
        hub.child_id,
        "break-glass:declare",
    )
    assert declaration["reason"].startswith("emergency-care: Unconscious")
    assert declaration["detail"]["breakGlass"] == body["id"]
    assert (read["action"], read["outcome"], read["reason"]) == ("read", "success", "break-glass:emergency-care")
    assert read["detail"] == {"breakGlass": body["id"]} and read["legitimate_relationship"] is False
    assert {e["id"] for e in read["entries"]} == set(shown)

    # The IG officer is alerted and reviews it through the IG API.
    alerts = client.get("/ig/api/alerts", headers=ig).json()["items"]
    glass_alerts = [a for a in alerts if a["rule"] == "break-glass" and a["childId"] == hub.child_id]
    assert glass_alerts and set(glass_alerts[0]["seqs"]) == {declaration["seq"], read["seq"]}
    assert not [a for a in alerts if a["rule"] == "no-relationship" and read["seq"] in a["seqs"]]
    queue = client.get("/ig/api/break-glass", headers=ig).json()["items"]
    item = next(i for i in queue if i["seq"] == declaration["seq"])
    assert item["user"] == "u-gp" and item["organisation"] == OTHER_GP and item["reason"].startswith("emergency-care")
    decided = client.post(
        f"/ig/api/break-glass/{declaration['seq']}/decision", json={"decision": "appropriate"}, headers=ig
    )
    assert decided.status_code == 201
    assert all(i["seq"] != declaration["seq"] for i in client.get("/ig/api/break-glass", headers=ig).json()["items"])

    # Expiry ends the fuller view (the declaration's end moved to the past, as the clock would).
    with hub.engine.begin() as conn:
        conn.execute(
            update(break_glass_declarations)
            .where(break_glass_declarations.c.declaration_id == body["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    after = client.get(f"/api/children/{hub.child_id}/timeline", headers=_bearer(gp))
    unknown = client.get(f"/api/children/{UNKNOWN}/timeline", headers=_bearer(gp))
    assert after.status_code == unknown.status_code == 404 and after.json() == unknown.json()


def test_ending_break_glass_early_and_a_declaration_for_an_unknown_id(hub: InProcessHub, client: TestClient) -> None:
    nurse = hub.token("gp", "A81003")
    unknown = _declare(client, nurse, UNKNOWN, reason="urgent-safeguarding")
    known = _declare(client, nurse, hub.child_id, reason="urgent-safeguarding")
    assert unknown.status_code == known.status_code == 201  # declaring says nothing of the child
    assert client.get(f"/api/children/{hub.child_id}/timeline", headers=_bearer(nurse)).status_code == 200
    assert client.delete(f"/api/children/{hub.child_id}/break-glass", headers=_bearer(nurse)).status_code == 204
    assert client.get(f"/api/children/{hub.child_id}/timeline", headers=_bearer(nurse)).status_code == 404
    assert _records(hub)[-2]["action"] == "break-glass-end"
