"""An IG officer finds a child's accesses by NHS number or name, in process over SQLite through the real routes.

Two children are projected through the identity registry as the worker does (Amara Okafor, and Amara Obi with
another NHS number); a teacher reads Amara Okafor's story through the timeline API; then the IG officer
searches the access log by NHS number and by name, and each row names the child. Every search is itself on the
access log with the children it matched and the term masked; other roles are refused, and that is logged too.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.bench.read import project_child
from hub.db.tables import audit_log
from hub.read import child_finder
from tests.support.inprocess_hub import InProcessHub
from tests.support.story import SCHOOL, story

OTHER_NHS = "9434765803"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "ig.md"


def _renamed(events: list[dict[str, Any]], nhs: str, family: str) -> list[dict[str, Any]]:
    out = []
    for e in events:
        subject = {**e["subject"], "family_name": family}
        subject["identifiers"] = [{**i, "value": nhs} for i in subject["identifiers"]]
        out.append({**e, "subject": subject, "event_id": e["event_id"][:-4] + "0b1e"})
    return out


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHub]:
    running = InProcessHub(tmp_path_factory.mktemp("ig-child-search"))
    running.other_child_id = project_child(running.engine, _renamed(story(), OTHER_NHS, "Obi"))  # type: ignore[attr-defined]
    yield running
    running.engine.dispose()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _records(hub: InProcessHub, **where: Any) -> list[dict[str, Any]]:
    stmt = select(audit_log).order_by(audit_log.c.seq)
    for column, value in where.items():
        stmt = stmt.where(audit_log.c[column] == value)
    with hub.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def test_an_ig_officer_finds_a_teachers_read_by_nhs_number_and_by_name(hub: InProcessHub) -> None:
    client = TestClient(hub.app, base_url="http://testserver")
    teacher = hub.token("teacher", SCHOOL)
    assert client.get(f"/api/children/{hub.child_id}/timeline", headers=_bearer(teacher)).status_code == 200
    ig = _bearer(hub.ig)

    by_nhs = client.get("/ig/api/audit", params={"nhs": "943 476 5870", "role": "teacher"}, headers=ig).json()
    assert by_nhs["matched"] == [hub.child_id]
    (read,) = by_nhs["items"]
    assert (read["user"], read["organisation"], read["action"], read["childId"]) == (
        "u-teacher",
        SCHOOL,
        "read",
        hub.child_id,
    )
    amara = by_nhs["children"][hub.child_id]
    assert (amara["name"], amara["nhsNumber"]) == ("Amara Okafor", "943 476 5870")

    for name in ("okafor", "Amara OKAFOR", "am ok", "Okafor-"):
        found = client.get("/ig/api/audit", params={"name": name, "role": "teacher"}, headers=ig).json()
        assert found["matched"] == [hub.child_id], name
        assert [i["user"] for i in found["items"]] == ["u-teacher"], name

    # a name two children share: both matched, each row named
    both = client.get("/ig/api/audit", params={"name": "amara"}, headers=ig).json()
    other = hub.other_child_id  # type: ignore[attr-defined]
    assert sorted(both["matched"]) == sorted([hub.child_id, other]) and both["moreMatched"] is False
    assert both["children"][other]["nhsNumber"] == "943 476 5803"
    assert both["children"][other]["name"] == "Amara Obi"

    # no match: an empty answer, not an error, and not everyone's accesses
    for params in ({"nhs": "9993080209"}, {"name": "zebedee"}):
        none = client.get("/ig/api/audit", params=params, headers=ig).json()
        assert none["matched"] == [] and none["items"] == [] and none["children"] == {}, params
    # a term that cannot name a child says why, without echoing it
    bad = client.get("/ig/api/audit", params={"nhs": "1234567890"}, headers=ig)
    assert bad.status_code == 400 and "1234567890" not in bad.text
    assert client.get("/ig/api/audit", params={"name": "a"}, headers=ig).status_code == 400
    assert client.get("/ig/api/audit", params={"name": "amara", "nhs": "9434765870"}, headers=ig).status_code == 400

    # the same search, without a legitimate relationship only
    unrelated = client.get("/ig/api/unrelated", params={"nhs": "9434765870"}, headers=ig).json()
    assert unrelated["matched"] == [hub.child_id]
    assert all(i["legitimateRelationship"] is False for i in unrelated["items"])


def test_ig_searches_are_on_the_access_log_with_the_children_they_matched(hub: InProcessHub) -> None:
    client = TestClient(hub.app, base_url="http://testserver")
    ig = _bearer(hub.ig)
    before = _records(hub, user_id="u-ig")
    client.get("/ig/api/audit", params={"name": "amara"}, headers=ig).raise_for_status()
    client.get("/ig/api/audit", params={"nhs": "9993080209"}, headers=ig).raise_for_status()
    new = _records(hub, user_id="u-ig")[len(before) :]
    other = hub.other_child_id  # type: ignore[attr-defined]
    by_name = [r for r in new if r["query"] == "search?name=***"]
    assert sorted(r["child_id"] for r in by_name) == sorted([hub.child_id, other])  # one record per child
    assert all(r["action"] == "ig-access" and r["detail"]["matchedChildren"] == 2 for r in by_name)
    (no_match,) = [r for r in new if r["query"] == "search?nhs=***"]
    assert no_match["child_id"] is None and no_match["detail"] == {"matchedChildren": 0}
    assert not any("amara" in str(r).lower() or "9993080209" in str(r) for r in new)  # the terms are not kept

    # a search by the child's id now finds the officer's own searches for her
    own = client.get("/ig/api/audit", params={"child": other, "user": "u-ig"}, headers=ig).json()
    assert any(i["query"] == "search?name=***" for i in own["items"])
    # the names a response showed are listed on its record
    (shown,) = _records(hub, user_id="u-ig")[-1:]
    assert shown["child_id"] == other and shown["detail"]["childrenNamed"] == [other]


@pytest.mark.parametrize("role", ["teacher", "gp"])
def test_other_roles_are_refused_a_name_search_and_the_refusal_is_logged(hub: InProcessHub, role: str) -> None:
    client = TestClient(hub.app, base_url="http://testserver")
    token = hub.token(role, SCHOOL if role == "teacher" else "A81001")
    refused = client.get("/ig/api/audit", params={"name": "okafor"}, headers=_bearer(token))
    assert refused.status_code == 403 and "Okafor" not in refused.text and hub.child_id not in refused.text
    last = _records(hub, user_id=f"u-{role}")[-1]
    assert (last["action"], last["outcome"], last["query"]) == ("deny", "denied", "ig:/ig/api/audit")
    assert "okafor" not in str(last).lower()


def test_the_documented_answer_has_the_shape_of_the_real_one(hub: InProcessHub) -> None:
    """docs/ig.md shows a search answer; its fields are the API's (ids shortened there)."""
    (example,) = re.findall(r"```json\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    documented = json.loads(example)
    client = TestClient(hub.app, base_url="http://testserver")
    real = client.get("/ig/api/audit", params={"nhs": "943 476 5870"}, headers=_bearer(hub.ig)).json()
    assert set(documented) == set(real)
    (label,) = documented["children"].values()
    assert set(label) == set(real["children"][hub.child_id])
    assert set(documented["items"][0]) - {"..."} <= set(real["items"][0])


def _pdf_text(pdf: bytes) -> str:
    """The page content streams of an fpdf2 document, inflated (enough to find a line of text in it)."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, flags=re.S)
    out = []
    for raw in streams:
        try:
            out.append(zlib.decompress(raw).decode("latin-1"))
        except zlib.error:
            out.append(raw.decode("latin-1"))
    return "\n".join(out)


def test_the_disclosure_report_names_the_child(hub: InProcessHub) -> None:
    client = TestClient(hub.app, base_url="http://testserver")
    ig = _bearer(hub.ig)
    report = client.get(f"/ig/api/children/{hub.child_id}/disclosures.json", headers=ig).json()
    assert report["child"]["name"] == "Amara Okafor" and report["child"]["nhsNumber"] == "943 476 5870"
    pdf = client.get(f"/ig/api/children/{hub.child_id}/disclosures.pdf", headers=ig)
    assert pdf.content.startswith(b"%PDF")
    assert "Amara Okafor, NHS number 943 476 5870" in _pdf_text(pdf.content)
    last = _records(hub, user_id="u-ig")[-1]
    assert last["query"] == "disclosure-report.pdf" and last["detail"] == {"childrenNamed": [hub.child_id]}


def test_a_name_too_common_to_search_in_full_says_so(hub: InProcessHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(child_finder, "MAX_NAME_MATCHES", 1)  # two Amaras, one searched
    client = TestClient(hub.app, base_url="http://testserver")
    body = client.get("/ig/api/audit", params={"name": "amara"}, headers=_bearer(hub.ig)).json()
    assert len(body["matched"]) == 1 and body["moreMatched"] is True
    assert {i["childId"] for i in body["items"]} <= set(body["matched"])
    exact = client.get("/ig/api/audit", params={"name": "amara obi"}, headers=_bearer(hub.ig)).json()
    assert exact["moreMatched"] is False
