"""The HTTP connectors on a running hub: FHIR, education, social care and VCSE over real HTTP.

Checks the rules every connector shares: system tokens bound to the sending organisation (403 otherwise),
precise rejections with element paths / row and column, bad rows kept in dead letter while good rows go in,
replaying an export creates nothing new, and `onestory deadletter replay` takes a corrected row in.
Runs on SQLite and on the local PostgreSQL.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.connectors_helpers import (
    accepted_ids,
    cli,
    count_events,
    deadletter_rows,
    engine_for,
    error_paths,
    post,
    stored,
    wait_for,
)
from tests.support.hub_process import RunningHub
from tests.unit.connectors.test_fhir_samples import EXPECTED, fhir_samples

pytestmark = pytest.mark.integration
NHS = "9434765870"
UPN = "B801200005001"
SCHOOL, LA, VCSE, TRUST = "100001", "990", "VCSE01", "RX1"  # organisations in the default policy


def test_fhir_samples_and_the_organisation_binding(running_hub: RunningHub, database_url: str) -> None:
    hub = running_hub
    token = hub.token(user="pas-system", org=TRUST, role="system")
    accepted: list[str] = []
    for path in fhir_samples():
        reply = post(hub, "/intake/fhir", path.read_bytes(), token, "application/fhir+json")
        want_status, want = EXPECTED[path.name]
        assert reply.status_code == want_status, (path.name, reply.text[:300])
        assert reply.json()["resourceType"] == "OperationOutcome"
        if want_status == 200:
            ids = accepted_ids(reply)
            assert len(ids) == len(want)  # type: ignore[arg-type]
            accepted += ids
        else:
            assert want in error_paths(reply), (path.name, error_paths(reply))

    engine = engine_for(database_url)
    archived = wait_for(
        lambda: (s := stored(engine, accepted)) and len(s) == len(set(accepted)) and s,
        30,
        "every accepted FHIR event in the archive",
    )
    assert {row["source_org"] for row in archived.values()} == {TRUST}

    # Sending the same resources again creates nothing new downstream.
    before = count_events(engine)
    for path in fhir_samples():
        if EXPECTED[path.name][0] == 200:
            post(hub, "/intake/fhir", path.read_bytes(), token, "application/fhir+json")
    time.sleep(2.0)
    assert count_events(engine) == before

    patient = next(p for p in fhir_samples() if p.name == "pds_Patient_9000000009.json").read_bytes()
    school = hub.token(user="mis", org=SCHOOL, role="system")
    assert post(hub, f"/intake/fhir?organisation={TRUST}", patient, school, "application/fhir+json").status_code == 403
    clinician = hub.token(user="dr", org=TRUST, role="gp")
    assert post(hub, "/intake/fhir", patient, clinician, "application/fhir+json").status_code == 403
    assert post(hub, "/intake/fhir", patient, None, "application/fhir+json").status_code == 401
    engine.dispose()


def _timeline_kinds(hub: RunningHub, child_id: str, token: str) -> set[str]:
    reply = httpx.get(
        f"{hub.api}/api/children/{child_id}/timeline", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    return {str(e.get("kind")) for e in reply.json().get("entries", [])} if reply.status_code == 200 else set()


def _attendance_csv(rows: list[str]) -> bytes:
    return ("UPN,Forename,Surname,DOB,NHS Number,Week Start,Marks,Basis\r\n" + "\r\n".join(rows) + "\r\n").encode()


def test_every_sector_reaches_one_child_and_bad_rows_can_be_replayed(
    running_hub: RunningHub, database_url: str, tmp_path: Path
) -> None:
    hub = running_hub
    engine = engine_for(database_url)
    school = hub.token(user="mis", org=SCHOOL, role="system")
    la = hub.token(user="lcs", org=LA, role="system")
    vcse = hub.token(user="charity-crm", org=VCSE, role="system")
    ids: list[str] = []

    export = _attendance_csv(
        [
            f"{UPN},Amara,Okafor,04/03/2011,{NHS},03/11/2025,/ \\ / \\ N U C1 / / \\,consent:C-77",
            f"{UPN},Amara,Okafor,04/03/2011,{NHS},10/11/2025,/ \\ Q9 \\,consent:C-77",
        ]
    )
    reply = post(hub, "/intake/education?type=attendance", export, school, "text/csv")
    assert reply.status_code == 200, reply.text
    ids += accepted_ids(reply)
    assert len(ids) == 1
    bad = [i for i in reply.json()["issue"] if i["severity"] == "error"]
    assert [(b["expression"], b["diagnostics"]) for b in bad] == [
        (["row 3, column Marks"], "unknown attendance code 'Q9' at session 3")
    ]

    # The same export again: same ids, nothing new.
    again = post(hub, "/intake/education?type=attendance", export, school, "text/csv")
    assert accepted_ids(again) == ids

    # A school cannot publish as another organisation, in the body or the query.
    wrong = post(hub, "/intake/education?type=attendance&school_urn=RX1", export, school, "text/csv")
    assert wrong.status_code == 403
    assert (
        post(
            hub, "/intake/social-care", json.dumps({"la_code": LA, "records": []}).encode(), school, "application/json"
        ).status_code
        == 403
    )

    pupils = {
        "school_urn": SCHOOL,
        "concerns": [
            {
                "UPN": UPN,
                "NHS Number": NHS,
                "Type": "safeguarding",
                "ConcernId": "SC1",
                "RaisedDate": "2025-11-04",
                "DecidedBy": "DSL STAFF-12",
                "Reason": "disclosure of harm at home",
            }
        ],
        "referrals": [
            {"UPN": UPN, "NHS Number": NHS, "ReferralId": "REF-9", "ReferredTo": "MHST", "Date": "2025-11-05"}
        ],
    }
    reply = post(hub, "/intake/education", json.dumps(pupils).encode(), school, "application/json")
    assert reply.status_code == 200, reply.text
    ids += accepted_ids(reply)

    social = {
        "la_code": LA,
        "records": [
            {
                "type": "contact",
                "id": "CT1",
                "la_child_id": "LA-77",
                "nhs_number": NHS,
                "date": "2025-11-06",
                "referral_id": "REF-9",
                "from_organisation": SCHOOL,
            },
            {
                "type": "cin_plan",
                "id": "CIN1",
                "la_child_id": "LA-77",
                "nhs_number": NHS,
                "date": "2025-11-20",
                "category_of_need": "N1",
            },
            {
                "type": "cp_plan",
                "id": "CP1",
                "la_child_id": "LA-77",
                "nhs_number": NHS,
                "date": "2025-11-21",
                "category_of_abuse": "BAD",
            },
        ],
    }
    reply = post(hub, "/intake/social-care", json.dumps(social).encode(), la, "application/json")
    assert reply.status_code == 200, reply.text
    assert error_paths(reply) == ["records[2].category_of_abuse"]
    ids += accepted_ids(reply)

    header = f"CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\r\nLA-77,2,04/03/2011,WBRI,{UPN},,\r\n".encode()
    reply = post(hub, "/intake/social-care?format=ssda903-header", header, la, "text/csv")
    assert reply.status_code == 200, reply.text
    ids += accepted_ids(reply)

    sessions = {
        "organisation": VCSE,
        "records": [
            {
                "type": "session",
                "id": "S1",
                "client_id": "K1",
                "nhs_number": NHS,
                "date": "2025-11-07",
                "attended": True,
                "consent_id": "VC-1",
                "referral_id": "REF-9",
            }
        ],
    }
    reply = post(hub, "/intake/vcse", json.dumps(sessions).encode(), vcse, "application/json")
    assert reply.status_code == 200, reply.text
    ids += accepted_ids(reply)
    assert len(ids) == 7

    archived = wait_for(
        lambda: (s := stored(engine, ids)) and len(s) == len(ids) and s, 30, "every sector's events in the archive"
    )
    assert len({row["child_id"] for row in archived.values()}) == 1, "all sectors' events belong to one child"
    assert {row["source_org"] for row in archived.values()} == {SCHOOL, LA, VCSE}
    assert {row["kind"] for row in archived.values()} >= {
        "attendance.summary",
        "concern.raised",
        "referral.made",
        "referral.received",
        "plan.started",
        "vcse.session",
    }

    # Each sector's practitioners see their own sector's entries on the child's timeline (consent-checked API).
    child_id = next(iter(archived.values()))["child_id"]
    viewers = {
        SCHOOL: ("teacher", "attendance.summary"),
        LA: ("social-worker", "referral.received"),
        VCSE: ("vcse-worker", "vcse.session"),
    }
    for org, (role, kind) in viewers.items():
        viewer = hub.token(user=f"{role}-1", org=org, role=role, purpose="direct-care")
        wait_for(lambda v=viewer, k=kind: k in _timeline_kinds(hub, child_id, v) or None, 30, f"{kind} seen by {role}")

    # The bad rows were kept; the attendance one is corrected and replayed through the CLI.
    def kept() -> list[object] | None:
        rows = [r for r in deadletter_rows(engine) if r.connector in ("education", "social_care")]
        return rows if len(rows) >= 2 else None

    rows = wait_for(kept, 30, "the bad rows in the dead-letter table")
    attendance_row = next(r for r in rows if r.connector == "education")
    assert attendance_row.reason == "row 3, column Marks: unknown attendance code 'Q9' at session 3"
    assert attendance_row.content_type == f"text/csv; type=attendance; org={SCHOOL}"

    before = count_events(engine)
    still_bad = cli("deadletter", "replay", "--database", database_url, "--kafka", hub.kafka, attendance_row.id)
    assert still_bad.returncode == 1 and "held" in still_bad.stdout

    fixed = tmp_path / "fixed.csv"
    fixed.write_bytes(attendance_row.body.replace(b"Q9", b"N"))
    replayed = cli(
        "deadletter",
        "replay",
        "--database",
        database_url,
        "--kafka",
        hub.kafka,
        "--body-file",
        str(fixed),
        attendance_row.id,
    )
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "replayed  published 1 event(s)" in replayed.stdout
    shown = cli("deadletter", "show", "--database", database_url, attendance_row.id)
    assert json.loads(shown.stdout)["status"] == "replayed"
    wait_for(lambda: count_events(engine) == before + 1 or None, 30, "the replayed row in the archive")
    engine.dispose()


def test_self_referral_is_public_and_returns_a_receipt(running_hub: RunningHub) -> None:
    hub = running_hub
    form = {
        "submission_id": "t1",
        "requester": "young-person",
        "given_name": "Amara",
        "family_name": "Okafor",
        "birth_date": "2011-03-04",
        "areas": ["worry"],
        "may_tell": ["gp"],
        "contact_method": "letter",
    }
    reply = httpx.post(hub.api + "/intake/self-referral", json=form, timeout=30)
    assert reply.status_code == 201, reply.text
    assert reply.json()["receipt"].startswith("SR-") and len(reply.json()["eventIds"]) == 2
    bad = httpx.post(hub.api + "/intake/self-referral", json={**form, "birth_date": "soon"}, timeout=30)
    assert bad.status_code == 422
    assert bad.json()["errors"] == [{"field": "birth_date", "message": "enter the date of birth (day, month and year)"}]
    page = httpx.get(hub.api + "/self-referral", timeout=10)
    assert page.status_code == 200 and "<form" in page.text and "My GP" in page.text
