"""Consent, competence and lawful bases through the real interfaces: HTTP intake and the education drop folder.

Nothing here builds events past the interface: a school, a council and a VCSE service send what their systems
send, and the test reads what landed in the hub's event store and dead-letter store. An incomplete
safeguarding basis is refused at intake with its row and column (or JSON field), kept in dead letter, and
taken in once corrected and replayed. Runs on SQLite and on the local PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from hub.db.tables import event_store
from hub.events.codec import EventCodec
from tests.integration.connectors_helpers import (
    accepted_ids,
    cli,
    deadletter_rows,
    engine_for,
    error_paths,
    post,
    wait_for,
    wait_for_deadletters,
)
from tests.support.hub_process import RunningHub, start_hub

pytestmark = pytest.mark.integration
NHS = "9434765870"
UPN = "B801200005001"
SCHOOL, LA, VCSE = "100001", "990", "VCSE01"
CONCERNS = "UPN,NHS Number,Type,Concern Id,Raised Date,Decided By,Reason\r\n"


def _events(engine: Engine, ids: list[str]) -> dict[str, dict[str, Any]]:
    """event id → the archived event, decoded as the projections read it."""
    codec = EventCodec.load()
    with engine.connect() as conn:
        rows = conn.execute(select(event_store.c.event_id, event_store.c.body).where(event_store.c.event_id.in_(ids)))
        return {r.event_id: codec.decode(r.body) for r in rows}


def _archived(engine: Engine, ids: list[str], what: str) -> dict[str, dict[str, Any]]:
    def all_there() -> dict[str, dict[str, Any]] | None:
        found = _events(engine, ids)
        return found if len(found) == len(set(ids)) else None

    return wait_for(all_there, 30, what)


def _issues(reply: httpx.Response) -> list[tuple[list[str], str]]:
    return [(i.get("expression", []), i["diagnostics"]) for i in reply.json()["issue"] if i["severity"] == "error"]


def test_consent_competence_and_bases_over_http(running_hub: RunningHub, database_url: str, tmp_path: Path) -> None:
    hub = running_hub
    engine = engine_for(database_url)
    school = hub.token(user="mis", org=SCHOOL, role="system")
    la = hub.token(user="lcs", org=LA, role="system")
    vcse = hub.token(user="crm", org=VCSE, role="system")
    ids: list[str] = []

    # A school's safeguarding concern: the complete row goes in, the one without a reason is refused by row+column.
    export = (
        CONCERNS + f"{UPN},{NHS},safeguarding,SC1,04/11/2025,DSL STAFF-12,disclosure of harm at home\r\n"
        f"{UPN},{NHS},safeguarding,SC2,05/11/2025,DSL STAFF-12,\r\n"
    ).encode()
    reply = post(hub, "/intake/education?type=concerns", export, school, "text/csv")
    assert reply.status_code == 200, reply.text
    assert _issues(reply) == [
        (["row 3, column Reason"], "lawful basis 'safeguarding' needs who decided and why: why (the reason) is missing")
    ]
    (concern_id,) = accepted_ids(reply)
    ids.append(concern_id)

    # Nothing usable at all: 422, still naming the row and column.
    only_bad = (CONCERNS + f"{UPN},{NHS},safeguarding,SC3,06/11/2025,,\r\n").encode()
    refused = post(hub, "/intake/education?type=concerns", only_bad, school, "text/csv")
    assert refused.status_code == 422, refused.text
    assert error_paths(refused) == ["row 2, column Decided By"]

    consents = (
        "UPN,NHS Number,Consent ID,Status,Given By,Recipient Types,Categories,Purposes,Recorded On\r\n"
        f"{UPN},{NHS},SCH-C1,given,young-person,camhs;gp-practice,attendance;pastoral-concern,direct-care,04/11/2025\r\n"
        f"{UPN},{NHS},SCH-C2,refused,young-person,local-authority,,,04/11/2025\r\n"
    ).encode()
    reply = post(hub, "/intake/education?type=consents", consents, school, "text/csv")
    assert reply.status_code == 200 and not _issues(reply), reply.text
    ids += accepted_ids(reply)
    competence = (
        "UPN,NHS Number,Assessment ID,Outcome,Decision,Assessed By,Assessed By Role,Assessed On,Framework\r\n"
        f"{UPN},{NHS},SCH-A1,competent,information-sharing,SN-0042,school-nurse,04/11/2025,gillick\r\n"
    ).encode()
    reply = post(hub, "/intake/education?type=competence", competence, school, "text/csv")
    assert reply.status_code == 200, reply.text
    ids += accepted_ids(reply)

    child = {"la_child_id": "LA-77", "nhs_number": NHS}
    council = {
        "la_code": LA,
        "records": [
            {
                **child,
                "type": "s47",
                "id": "S47-1",
                "date": "2025-11-06",
                "team_manager": "TM-0042",
                "reason": "injury",
            },
            {**child, "type": "cp_plan", "id": "CP-1", "date": "2025-11-20", "category_of_abuse": "PHY"},
            {**child, "type": "cin_plan", "id": "CIN-1", "date": "2025-11-21", "category_of_need": "N1"},
        ],
        "consents": [
            {
                **child,
                "consent_id": "LA-C1",
                "status": "given",
                "given_by": "parental-responsibility",
                "recipient_types": ["school", "camhs"],
                "categories": ["social-care-plan"],
                "purposes": ["direct-care"],
                "recorded_on": "2025-11-21",
            }
        ],
    }
    reply = post(hub, "/intake/social-care", json.dumps(council).encode(), la, "application/json")
    assert reply.status_code == 200, reply.text
    assert error_paths(reply) == ["records[1].decided_by"]
    ids += accepted_ids(reply)

    charity = {
        "organisation": VCSE,
        "records": [{"client_id": "K1", "nhs_number": NHS, "type": "session", "id": "V1", "date": "2025-11-07"}],
        "competence": [
            {
                "client_id": "K1",
                "nhs_number": NHS,
                "assessment_id": "VC-A1",
                "outcome": "not-competent",
                "decision": "information-sharing",
                "assessed_by": "counsellor VC-9",
                "assessed_on": "2025-11-07",
            }
        ],
        "consents": [{"client_id": "K1", "nhs_number": NHS, "consent_id": "VC-C1", "status": "given"}],
    }
    reply = post(hub, "/intake/vcse", json.dumps(charity).encode(), vcse, "application/json")
    assert reply.status_code == 200, reply.text
    assert error_paths(reply) == ["consents[0].given_by"]
    ids += accepted_ids(reply)

    events = _archived(engine, ids, "every accepted event in the event store")
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for e in events.values():
        by_kind.setdefault(e["kind"], []).append(e)
    assert len({e["child_id"] for e in events.values()}) == 1, "every source's events belong to one child"
    (concern,) = [e for e in by_kind["concern.raised"] if e["source"]["organisation"] == SCHOOL]
    assert concern["sharing_basis"]["decided_by"] == "DSL STAFF-12"
    assert concern["sharing_basis"]["reason"] == "disclosure of harm at home"
    (s47,) = [e for e in by_kind["concern.raised"] if e["source"]["organisation"] == LA]
    assert (s47["sharing_basis"]["decided_by"], s47["sharing_basis"]["reason"]) == ("TM-0042", "injury")
    (cin,) = by_kind["plan.started"]
    assert cin["sharing_basis"]["reference"] == "public-task"
    given = {e["payload"][1]["consent_id"]: e for e in by_kind["consent.given"]}
    assert set(given) == {"SCH-C1", "LA-C1"}
    assert given["LA-C1"]["payload"][1]["given_by"] == "parental-responsibility"
    assert given["SCH-C1"]["payload"][1]["recipient_organisation_types"] == ["camhs", "gp-practice"]
    (refusal,) = by_kind["consent.refused"]
    assert refusal["payload"][1]["recipient_organisation_types"] == ["local-authority"]
    assert refusal["payload"][1]["competent"] is None
    outcomes = {e["payload"][1]["assessment_id"]: e["payload"][1]["outcome"] for e in by_kind["competence.assessed"]}
    assert outcomes == {"SCH-A1": "competent", "VC-A1": "not_competent"}
    assert all(e["category"] == "consent" for k in ("consent.given", "competence.assessed") for e in by_kind[k])

    # The refused rows are in the dead-letter store with their reasons; the school's is corrected and replayed.
    def kept_rows() -> list[Any] | None:
        found = [d for d in deadletter_rows(engine) if d.connector in ("education", "social_care", "vcse")]
        return found if len(found) >= 4 else None

    rows = wait_for(kept_rows, 30, "the refused rows in the dead-letter table")
    reasons = {r.reason for r in rows}
    assert (
        "row 3, column Reason: lawful basis 'safeguarding' needs who decided and why: why (the reason) is missing"
        in (reasons)
    )
    assert any(r.startswith("records[1].decided_by: lawful basis 'safeguarding'") for r in reasons)
    kept = next(r for r in rows if r.reason.startswith("row 3, column Reason"))
    assert kept.content_type == f"text/csv; type=concerns; org={SCHOOL}"
    assert b"SC2" in kept.body and b"SC1" not in kept.body  # the refused row alone, with the header

    still = cli("deadletter", "replay", "--database", database_url, "--kafka", hub.kafka, kept.id)
    assert still.returncode == 1 and "held" in still.stdout and "row 2, column Reason" in still.stdout
    fixed = tmp_path / "fixed.csv"
    fixed.write_bytes(kept.body.replace(b"DSL STAFF-12,\r\n", b"DSL STAFF-12,bruising seen in PE\r\n"))
    replayed = cli(
        "deadletter", "replay", "--database", database_url, "--kafka", hub.kafka, "--body-file", str(fixed), kept.id
    )
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "replayed  published 1 event(s)" in replayed.stdout

    def replayed_concern() -> dict[str, Any] | None:
        codec = EventCodec.load()
        with engine.connect() as conn:
            bodies = conn.execute(select(event_store.c.body).where(event_store.c.kind == "concern.raised")).scalars()
            found = [codec.decode(b) for b in bodies]
        return next((e for e in found if e["payload"][1]["concern_id"] == "SC2"), None)

    sc2 = wait_for(replayed_concern, 30, "the corrected concern in the event store")
    assert sc2["sharing_basis"]["reason"] == "bruising seen in PE"
    engine.dispose()


def test_self_referral_who_must_not_be_told(running_hub: RunningHub, database_url: str) -> None:
    hub = running_hub
    form = {
        "requester": "young-person",
        "given_name": "Amara",
        "family_name": "Okafor",
        "birth_date": "2011-03-04",
        "nhs_number": NHS,
        "may_tell": ["gp", "camhs"],
        "do_not_tell": ["school"],
        "help_wanted": "Please do not tell my school",
        "contact_method": "letter",
    }
    overlap = httpx.post(hub.api + "/intake/self-referral", json={**form, "do_not_tell": ["gp"]}, timeout=30)
    assert overlap.status_code == 422
    assert overlap.json()["errors"] == [
        {"field": "do_not_tell", "message": "you chose both to tell and not to tell: My GP (family doctor)"}
    ]
    reply = httpx.post(hub.api + "/intake/self-referral", json=form, timeout=30)
    assert reply.status_code == 201, reply.text
    engine = engine_for(database_url)
    events = _archived(engine, reply.json()["eventIds"], "the self-referral and both consent records")
    kinds = sorted(e["kind"] for e in events.values())
    assert kinds == ["consent.given", "consent.refused", "self-referral.submitted"]
    (refusal,) = [e for e in events.values() if e["kind"] == "consent.refused"]
    assert refusal["payload"][1]["recipient_organisation_types"] == ["school"]
    assert refusal["payload"][1]["given_by"] == "young-person"
    (referral,) = [e for e in events.values() if e["kind"] == "self-referral.submitted"]
    assert referral["payload"][1]["help_wanted"] == "Please do not tell my school"
    engine.dispose()


@pytest.fixture
def hub_with_drop(tmp_path: Path, sqlite_url: str) -> Iterator[tuple[RunningHub, Path]]:
    drop = tmp_path / "drop"
    drop.mkdir()
    hub = start_hub(tmp_path / "var", sqlite_url, extra=["--education-drop", str(drop)])
    try:
        yield hub, drop
    finally:
        if hub.process.poll() is None:
            hub.stop()


def test_drop_folder_takes_consents_and_competence_and_refuses_an_incomplete_basis(
    hub_with_drop: tuple[RunningHub, Path], sqlite_url: str
) -> None:
    hub, drop = hub_with_drop
    (drop / f"{SCHOOL}_consents_20251107.csv").write_bytes(
        (
            "UPN,Consent ID,Status,Given By,Recipient Types,Categories,Purposes,Recorded On,Withdraws\r\n"
            f"{UPN},D-C1,given,young-person,camhs,attendance,direct-care,04/11/2025,\r\n"
            f"{UPN},D-C2,withdrawn,young-person,,,,06/11/2025,D-C1\r\n"
        ).encode()
    )
    (drop / f"{SCHOOL}_competence_20251107.csv").write_bytes(
        (
            "UPN,Assessment ID,Outcome,Decision,Assessed By,Assessed On\r\n"
            f"{UPN},D-A1,competent,information-sharing,school-nurse SN-0042,04/11/2025\r\n"
        ).encode()
    )
    (drop / f"{SCHOOL}_concerns_20251107.csv").write_bytes(
        (
            "UPN,Type,Concern Id,Raised Date,Basis,Decided By,Reason\r\n"
            f"{UPN},pastoral,D-P1,04/11/2025,lawful_basis:safeguarding,DSL STAFF-12,\r\n"
            f"{UPN},pastoral,D-P2,04/11/2025,lawful_basis:best-interests,,\r\n"
        ).encode()
    )

    def taken() -> list[Path] | None:
        found = sorted((drop / "done").glob("*.report.json"))
        return found if len(found) == 2 else None

    reports = wait_for(taken, 30, "the consents and competence exports in done/")
    by_file = {json.loads(p.read_text())["file"]: json.loads(p.read_text()) for p in reports}
    assert by_file[f"{SCHOOL}_consents_20251107.csv"]["accepted_events"] == 2
    assert by_file[f"{SCHOOL}_competence_20251107.csv"]["accepted_events"] == 1
    failed = wait_for(lambda: sorted((drop / "failed").glob("*.report.json")) or None, 30, "the concerns in failed/")
    report = json.loads(failed[0].read_text())
    assert report["status"] == 422
    (incomplete, unknown) = [(i["location"], i["reason"]) for i in report["issues"]]
    assert incomplete == (
        "row 2, column Reason",
        "lawful basis 'safeguarding' needs who decided and why: why (the reason) is missing",
    )
    assert unknown[0] == "row 3, column Basis"
    assert unknown[1].startswith("lawful basis 'best-interests' is not a recorded basis in the policy (use one of:")
    engine = engine_for(sqlite_url)
    rows = wait_for_deadletters(engine, 2)
    assert {r.reason.split(":")[0] for r in rows} == {"row 2, column Reason", "row 3, column Basis"}

    def kinds() -> list[str] | None:
        with engine.connect() as conn:
            found = sorted(conn.execute(select(event_store.c.kind)).scalars())
        return found if len(found) >= 3 else None

    assert wait_for(kinds, 30, "the consent and competence events") == [
        "competence.assessed",
        "consent.given",
        "consent.withdrawn",
    ]
    engine.dispose()
