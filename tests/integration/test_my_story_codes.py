"""Who may issue a My story access code, over HTTP on the in-process hub.

Only a practitioner in the child's team may; anyone else gets the same 403 for a child the hub knows and for an
id it does not, so the answer cannot be used to learn whether a child is known.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.support.inprocess_hub import InProcessHub


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHub]:
    running = InProcessHub(tmp_path_factory.mktemp("my-story-codes"))
    yield running
    running.engine.dispose()


def _issue(hub: InProcessHub, child_id: str, token: str) -> tuple[int, dict[str, object]]:
    client = TestClient(hub.app, base_url="http://testserver")
    response = client.post(
        f"/api/children/{child_id}/my-story/codes", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code, response.json()


def test_a_team_practitioner_gets_a_code_shown_once(hub: InProcessHub) -> None:
    status, body = _issue(hub, hub.child_id, hub.gp)
    assert status == 201
    assert body["holder"] == "young-person" and len(str(body["code"])) >= 8


def test_outside_the_team_a_known_and_an_unknown_child_get_the_same_answer(hub: InProcessHub) -> None:
    stranger = hub.token("gp", "A81003")  # a practice outside this child's team
    known = _issue(hub, hub.child_id, stranger)
    unknown = _issue(hub, str(uuid.uuid4()), stranger)
    assert known[0] == 403
    assert known == unknown
