"""Lawful bases complete or refused at intake, and consent / competence rows in the school, council and VCSE formats.

Every refusal names where the sender must look (CSV row and column, JSON field); reasons carry no personal data.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.canonical import basis, recorded_lawful_bases
from connectors.education.map import map_csv, map_json
from connectors.errors import MappingError
from connectors.registry import CONNECTORS
from connectors.self_referral.map import FormInvalid, map_form
from connectors.social_care import map as social_care
from connectors.social_care import ssda903
from connectors.vcse import map as vcse
from hub.events.codec import EventCodec

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
URN, LA, VCSE = "100001", "990", "VCSE01"
UPN = "B801200005001"
CONNECTORS_DIR = Path(__file__).resolve().parents[3] / "connectors"


def _errors(batch: Any) -> list[tuple[str, str]]:
    return [(i.location, i.reason) for i in batch.errors]


# ---- canonical.basis -------------------------------------------------------------------------------------------


def test_basis_accepts_the_policy_s_recorded_bases() -> None:
    assert basis("lawful_basis", "public-task")["reference"] == "public-task"
    assert basis("lawful_basis", "direct-care")["reference"] == "direct-care"
    done = basis("lawful_basis", "safeguarding", "DSL STAFF-12", "disclosure of harm")
    assert done == {
        "kind": "lawful_basis",
        "reference": "safeguarding",
        "decided_by": "DSL STAFF-12",
        "reason": "disclosure of harm",
    }
    assert basis("consent", "C-1")["kind"] == "consent" and basis("none")["kind"] == "none"


@pytest.mark.parametrize(
    ("args", "kwargs", "location", "reason"),
    [
        (("lawful_basis", "vital-interests"), {}, "sharing_basis", "is not a recorded basis in the policy"),
        (("lawful_basis", "ig-audit"), {"location": "x.basis"}, "x.basis", "is not a recorded basis"),  # standing
        (("lawful_basis", None), {"location": "x.basis"}, "x.basis", "a lawful basis needs its code"),
        (("lawful_basis", "  "), {}, "sharing_basis", "a lawful basis needs its code"),
        (("lawful_basis", "safeguarding"), {}, "sharing_basis.decided_by", "who decided and why are both missing"),
        (("lawful_basis", "safeguarding", "TM-1"), {}, "sharing_basis.reason", "why (the reason) is missing"),
        (("lawful_basis", "safeguarding", None, "risk"), {}, "sharing_basis.decided_by", "who decided is missing"),
        (
            ("lawful_basis", "safeguarding", "TM-1", " "),
            {"reason_location": "row 2, column Reason"},
            "row 2, column Reason",
            "why (the reason) is missing",
        ),
        (("consented", "C-1"), {"location": "b"}, "b", "sharing basis kind must be"),
    ],
)
def test_basis_refuses_what_the_policy_cannot_use(
    args: tuple[Any, ...], kwargs: dict[str, str], location: str, reason: str
) -> None:
    with pytest.raises(MappingError) as err:
        basis(*args, **kwargs)
    assert err.value.location == location
    assert reason in err.value.reason


def test_every_lawful_basis_a_connector_can_emit_is_defined_in_the_default_policy() -> None:
    """Scans every connector's code and mapping data for the lawful-basis codes it applies by itself."""
    emitted: set[str] = set()
    for path in CONNECTORS_DIR.rglob("*"):
        if path.suffix == ".py":
            emitted |= set(
                re.findall(r"[(\n]\s*[\"']lawful_basis[\"'],\s*[\"']([a-z][a-z0-9-]*)[\"']", path.read_text())
            )
        elif path.suffix in (".yaml", ".yml"):
            emitted |= set(re.findall(r"kind:\s*lawful_basis,\s*reference:\s*([a-z][a-z0-9-]*)", path.read_text()))
    assert {"safeguarding", "public-task", "direct-care"} <= emitted, emitted
    assert emitted <= set(recorded_lawful_bases()), emitted - set(recorded_lawful_bases())
    # and the defaults the row formats apply pass basis() itself
    for code in emitted:
        if not recorded_lawful_bases()[code].requires_decision:
            basis("lawful_basis", code)


# ---- education -------------------------------------------------------------------------------------------------

CONCERNS = "UPN,Type,Concern Id,Raised Date,Decided By,Reason,Basis\r\n"


def test_a_school_safeguarding_concern_needs_who_decided_and_why() -> None:
    body = (
        CONCERNS + f"{UPN},safeguarding,C1,04/11/2025,DSL STAFF-12,disclosure of harm at home,\r\n"
        f"{UPN},safeguarding,C2,04/11/2025,DSL STAFF-12,,\r\n"
        f"{UPN},safeguarding,C3,04/11/2025,,,\r\n"
        f"{UPN},pastoral,C4,04/11/2025,,,lawful_basis:vital-interests\r\n"
        f"{UPN},pastoral,C5,04/11/2025,,,lawful_basis:\r\n"
        f"{UPN},pastoral,C6,04/11/2025,DSL STAFF-12,worried about home,lawful_basis:safeguarding\r\n"
        f"{UPN},pastoral,C7,04/11/2025,,,\r\n"
    ).encode()
    batch = map_csv(body, "concerns", URN, None, NOW)
    assert [e["payload"][1]["concern_id"] for e in batch.events] == [
        "C1",
        "C6",
        "C7",
    ]
    assert batch.events[0]["sharing_basis"] == {
        "kind": "lawful_basis",
        "reference": "safeguarding",
        "decided_by": "DSL STAFF-12",
        "reason": "disclosure of harm at home",
    }
    assert batch.events[1]["sharing_basis"]["reference"] == "safeguarding"
    assert batch.events[2]["sharing_basis"]["kind"] == "none"
    errors = _errors(batch)
    assert [loc for loc, _ in errors] == [
        "row 3, column Reason",
        "row 4, column Decided By",
        "row 5, column Basis",
        "row 6, column Basis",
    ]
    assert "who decided and why" in errors[0][1] and "is not a recorded basis" in errors[2][1]
    assert "needs its code" in errors[3][1]
    # each refused row is kept alone, with the header, to be corrected and replayed
    assert all(i.body and i.body.count(b"\r\n") == 2 for i in batch.errors)


def test_basis_reason_alias_and_where_reason_already_means_something_else() -> None:
    alias = f"UPN,Type,ConcernId,RaisedDate,Decided By,Basis Reason\r\n{UPN},safeguarding,C1,04/11/2025,DSL,risk\r\n"
    (event,) = map_csv(alias.encode(), "concerns", URN, None, NOW).events
    assert event["sharing_basis"]["reason"] == "risk"
    # In exclusions, `Reason` is the exclusion's reason code: the basis reason must be `Basis Reason`.
    exclusions = (
        "UPN,Type,StartDate,Reason,Basis,Decided By,Basis Reason\r\n"
        f"{UPN},suspension,03/11/2025,PA,lawful_basis:safeguarding,DSL,\r\n"
        f"{UPN},suspension,04/11/2025,PA,lawful_basis:safeguarding,DSL,harm at home\r\n"
    ).encode()
    batch = map_csv(exclusions, "exclusions", URN, None, NOW)
    assert _errors(batch)[0][0] == "row 2, column Basis Reason"
    (kept,) = batch.events
    assert kept["payload"][1]["reason_code"] == "PA" and kept["sharing_basis"]["reason"] == "harm at home"


def test_json_names_the_missing_field() -> None:
    body = {
        "school_urn": URN,
        "concerns": [{"UPN": UPN, "Type": "safeguarding", "ConcernId": "C1", "Date": "2025-11-04"}],
    }
    batch = map_json(json.dumps(body).encode(), URN, NOW)
    assert [loc for loc, _ in _errors(batch)] == ["concerns[0].decided_by"]


CONSENTS = (
    "UPN,Consent ID,Status,Given By,Recipient Types,Recipient Organisations,Categories,Purposes,Recorded On,"
    "Valid Until,Withdraws\r\n"
)


def test_school_consent_rows_become_consent_events() -> None:
    body = (
        CONSENTS + f"{UPN},K1,given,young-person,camhs;gp-practice,RX4,mental-health;attendance,direct-care,"
        "04/11/2025,31/07/2026,\r\n"
        f"{UPN},K2,Refused,Young Person,school,,,,2025-11-04T10:30:00+00:00,,\r\n"
        f"{UPN},K3,withdrawn,parental-responsibility,,,,,05/11/2025,,K1\r\n"
    ).encode()
    batch = map_csv(body, "consents", URN, None, NOW)
    assert not batch.errors
    given, refused, withdrawn = batch.events
    assert [e["kind"] for e in batch.events] == ["consent.given", "consent.refused", "consent.withdrawn"]
    assert all(e["category"] == "consent" and e["payload"][0] == "onestory.payload.Consent" for e in batch.events)
    p = given["payload"][1]
    assert p == {
        "consent_id": "K1",
        "status": "given",
        "given_by": "young-person",
        "competent": None,
        "recipient_organisations": ["RX4"],
        "recipient_organisation_types": ["camhs", "gp-practice"],
        "categories": ["mental-health", "attendance"],
        "purposes": ["direct-care"],
        "period_start": datetime(2025, 11, 4, tzinfo=UTC),
        "period_end": datetime(2026, 7, 30, 23, tzinfo=UTC),  # the start of 31 July in London (BST)
        "recorded_by": URN,
        "withdraws": None,
    }
    assert given["sharing_basis"] == {"kind": "consent", "reference": "K1", "decided_by": None, "reason": None}
    r = refused["payload"][1]
    assert r["given_by"] == "young-person" and r["recipient_organisation_types"] == ["school"]
    assert r["categories"] == [] and r["purposes"] == []  # an unscoped refusal covers everything
    assert refused["occurred_at"] == datetime(2025, 11, 4, 10, 30, tzinfo=UTC)
    w = withdrawn["payload"][1]
    assert w["withdraws"] == "K1" and w["given_by"] == "parental-responsibility"
    assert {e["payload"][1]["recorded_by"] for e in batch.events} == {URN}


@pytest.mark.parametrize(
    ("row", "location", "reason"),
    [
        ("K,given,young-person,,,mental-health,direct-care,04/11/2025,,", "Recipient Types", "who may be told"),
        ("K,given,young-person,camhs,,,direct-care,04/11/2025,,", "Categories", "categories it covers"),
        ("K,given,young-person,camhs,,mental-health,,04/11/2025,,", "Purposes", "its purposes"),
        ("K,given,parent,camhs,,mental-health,direct-care,04/11/2025,,", "Given By", "young-person or parental"),
        ("K,maybe,young-person,camhs,,mental-health,direct-care,04/11/2025,,", "Status", "given or refused"),
        ("K,given,young-person,dentist,,mental-health,direct-care,04/11/2025,,", "Recipient Types", "'dentist'"),
        ("K,given,young-person,camhs,,dinner,direct-care,04/11/2025,,", "Categories", "unknown category"),
        ("K,given,young-person,camhs,,mental-health,marketing,04/11/2025,,", "Purposes", "unknown purpose"),
        ("K,given,young-person,camhs,,mental-health,direct-care,,,", "Recorded On", "required value is missing"),
        ("K,given,young-person,camhs,,mental-health,direct-care,04/11/2025,01/11/2025,", "Valid Until", "ends"),
        ("K,refused,young-person,camhs,,,,04/11/2025,,K0", "Withdraws", "only a withdrawal"),
        (",refused,young-person,camhs,,,,04/11/2025,,", "Consent ID", "required value is missing"),
        ("K,refused,young-person,,,,,2025-11-04T10:30:00,,", "Recorded On", "UTC offset"),
    ],
)
def test_a_consent_row_the_engine_could_not_use_is_refused_with_its_column(
    row: str, location: str, reason: str
) -> None:
    batch = map_csv((CONSENTS + f"{UPN},{row}\r\n").encode(), "consents", URN, None, NOW)
    assert not batch.events
    ((where, why),) = _errors(batch)
    assert where == f"row 2, column {location}" and reason in why


COMPETENCE = "UPN,Assessment ID,Outcome,Decision,Categories,Assessed By,Assessed By Role,Assessed On,Framework\r\n"


def test_school_competence_rows_become_competence_events() -> None:
    body = (
        COMPETENCE + f"{UPN},A1,competent,information sharing,,SN-0042,school-nurse,04/11/2025,\r\n"
        f"{UPN},A2,Not Competent,contraception advice,sexual-health,SN-0042,,05/11/2025,Fraser\r\n"
    ).encode()
    batch = map_csv(body, "competence", URN, None, NOW)
    assert not batch.errors
    first, second = batch.events
    assert first["kind"] == "competence.assessed" and first["category"] == "consent"
    assert first["payload"] == (
        "onestory.payload.Competence",
        {
            "assessment_id": "A1",
            "outcome": "competent",
            "decision": "information-sharing",
            "categories": [],
            "assessed_by": "school-nurse SN-0042",
            "assessed_at": datetime(2025, 11, 4, tzinfo=UTC),
            "framework": "gillick",
        },
    )
    p = second["payload"][1]
    assert (p["outcome"], p["framework"], p["categories"], p["assessed_by"]) == (
        "not_competent",
        "fraser",
        ["sexual-health"],
        "SN-0042",
    )


@pytest.mark.parametrize(
    ("row", "location", "reason"),
    [
        ("A,unsure,information-sharing,,SN,,04/11/2025,", "Outcome", "competent or not-competent"),
        ("A,competent,,,SN,,04/11/2025,", "Decision", "required value is missing"),
        ("A,competent,information-sharing,,,,04/11/2025,", "Assessed By", "required value is missing"),
        ("A,competent,information-sharing,,SN,,,", "Assessed On", "required value is missing"),
        ("A,competent,information-sharing,,SN,,04/11/2025,bolam", "Framework", "gillick or fraser"),
        ("A,competent,information-sharing,lunch,SN,,04/11/2025,", "Categories", "unknown category"),
    ],
)
def test_a_competence_row_missing_what_matters_is_refused_with_its_column(row: str, location: str, reason: str) -> None:
    batch = map_csv((COMPETENCE + f"{UPN},{row}\r\n").encode(), "competence", URN, None, NOW)
    ((where, why),) = _errors(batch)
    assert where == f"row 2, column {location}" and reason in why


def test_json_school_export_carries_consents_and_competence() -> None:
    body = {
        "school_urn": URN,
        "consents": [
            {
                "UPN": UPN,
                "consent_id": "K1",
                "status": "given",
                "given_by": "young-person",
                "recipient_types": ["camhs"],
                "categories": ["mental-health"],
                "purposes": ["direct-care"],
                "recorded_on": "2025-11-04",
            },
            {
                "UPN": UPN,
                "consent_id": "K2",
                "status": "given",
                "given_by": "young-person",
                "recorded_on": "2025-11-04",
            },
        ],
        "competence": [
            {
                "UPN": UPN,
                "assessment_id": "A1",
                "outcome": "competent",
                "decision": "information-sharing",
                "assessed_by": "SN-1",
                "assessed_on": "2025-11-04",
            }
        ],
    }
    batch = map_json(json.dumps(body).encode(), URN, NOW)
    assert [e["kind"] for e in batch.events] == ["consent.given", "competence.assessed"]
    assert batch.events[0]["payload"][1]["recipient_organisation_types"] == ["camhs"]
    assert [loc for loc, _ in _errors(batch)] == ["consents[1].recipient_types"]


# ---- social care -----------------------------------------------------------------------------------------------


def _la(**arrays: list[dict[str, Any]]) -> bytes:
    return json.dumps({"la_code": LA, **arrays}).encode()


def child(**extra: Any) -> dict[str, Any]:
    return {"la_child_id": "LA-77", "nhs_number": "9434765870", "date": "2025-11-01", **extra}


def test_s47_and_cp_plan_take_who_decided_and_why_from_the_council_record() -> None:
    body = _la(
        records=[
            child(type="s47", id="S1", team_manager="TM-0042", social_worker="SW-7", reason="injury seen at school"),
            child(type="s47", id="S2", social_worker="SW-7", reason="disclosure"),
            child(type="cp_plan", id="CP1", category_of_abuse="EMO", decided_by="ICPC chair", basis_reason="ICPC"),
            child(type="s47", id="S3", team_manager="TM-0042"),
            child(type="s47", id="S4", reason="disclosure"),
            child(type="cp_plan", id="CP2", category_of_abuse="NEG"),
            child(type="cin_plan", id="CIN1", category_of_need="N1", lawful_basis="legitimate-interest"),
            child(type="cin_plan", id="CIN2", category_of_need="N1", reason="not a basis reason"),
        ]
    )
    batch = social_care.map_json(body, LA, NOW)
    bases = [e["sharing_basis"] for e in batch.events]
    assert bases[0] == {
        "kind": "lawful_basis",
        "reference": "safeguarding",
        "decided_by": "TM-0042",
        "reason": "injury seen at school",
    }
    assert bases[1]["decided_by"] == "SW-7"
    assert (bases[2]["decided_by"], bases[2]["reason"]) == ("ICPC chair", "ICPC")
    # public-task needs no decision; the record's own reason is not copied into it
    assert bases[3] == {"kind": "lawful_basis", "reference": "public-task", "decided_by": None, "reason": None}
    errors = _errors(batch)
    assert [loc for loc, _ in errors] == [
        "records[3].reason",
        "records[4].decided_by",
        "records[5].decided_by",
        "records[6].lawful_basis",
    ]
    assert "who decided and why are both missing" in errors[2][1]


def test_social_care_consents_and_competence_arrays_without_records() -> None:
    body = _la(
        consents=[
            child(
                consent_id="LAC-1",
                status="given",
                given_by="parental-responsibility",
                recipient_types="camhs;school",
                categories=["social-care-plan"],
                purposes="direct-care",
                recorded_on="2025-11-02",
            )
        ],
        competence=[
            child(
                assessment_id="GA-1",
                outcome="competent",
                decision="information-sharing",
                assessed_by="SW-7",
                assessed_by_role="social-worker",
                assessed_on="2025-11-03T14:00:00+00:00",
            )
        ],
    )
    batch = social_care.map_json(body, LA, NOW)
    assert not batch.errors
    consent, competence = batch.events
    assert consent["kind"] == "consent.given" and consent["source"]["organisation"] == LA
    assert consent["payload"][1]["recipient_organisation_types"] == ["camhs", "school"]
    assert competence["payload"][1]["assessed_at"] == datetime(2025, 11, 3, 14, tzinfo=UTC)
    assert competence["payload"][1]["assessed_by"] == "social-worker SW-7"
    with pytest.raises(MappingError):
        social_care.map_json(_la(), LA, NOW)
    # a kept row replays through the registry exactly as the route ran it
    bad = social_care.map_json(_la(consents=[child(consent_id="X", status="given", given_by="x")]), LA, NOW)
    (issue,) = bad.errors
    assert issue.location == "consents[0].given_by"
    assert issue.body is not None and issue.content_type is not None
    assert [i.location for i in CONNECTORS["social_care"](issue.body, issue.content_type, NOW).errors] == [
        "consents[0].given_by"
    ]


def test_ssda903_applies_public_task() -> None:
    header = b"CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\r\n1001,1,04/03/2011,WBRI,B801200005001,,\r\n"
    (event,) = ssda903.map_csv(header, "ssda903-header", LA, None, NOW).events
    assert event["sharing_basis"]["reference"] == "public-task"


# ---- VCSE ------------------------------------------------------------------------------------------------------


def test_vcse_lawful_basis_consents_and_competence() -> None:
    client = {"client_id": "K1", "nhs_number": "9434765870", "date": "2025-11-07"}
    body = {
        "organisation": VCSE,
        "records": [
            {**client, "type": "session", "id": "S1", "consent_id": "VC-1"},
            {
                **client,
                "type": "referral",
                "id": "R1",
                "referred_to": "990",
                "reason": "disclosed harm at home",
                "lawful_basis": "safeguarding",
                "decided_by": "safeguarding lead VS-3",
            },
            {**client, "type": "session", "id": "S2", "lawful_basis": "safeguarding", "decided_by": "VS-3"},
            {**client, "type": "session", "id": "S3", "lawful_basis": "good-idea"},
        ],
        "consents": [
            {
                **client,
                "consent_id": "VC-2",
                "status": "refused",
                "given_by": "young-person",
                "recipient_types": ["school"],
                "recorded_on": "2025-11-07",
            }
        ],
        "competence": [
            {
                **client,
                "assessment_id": "VA-1",
                "outcome": "competent",
                "decision": "information-sharing",
                "assessed_by": "counsellor VC-9",
                "assessed_on": "2025-11-07",
            }
        ],
    }
    batch = vcse.map_json(json.dumps(body).encode(), VCSE, NOW)
    kinds = [e["kind"] for e in batch.events]
    assert kinds == ["vcse.session", "referral.made", "consent.refused", "competence.assessed"]
    assert batch.events[1]["sharing_basis"] == {
        "kind": "lawful_basis",
        "reference": "safeguarding",
        "decided_by": "safeguarding lead VS-3",
        "reason": "disclosed harm at home",
    }
    assert [loc for loc, _ in _errors(batch)] == ["records[2].basis_reason", "records[3].lawful_basis"]
    assert batch.events[2]["payload"][1]["recorded_by"] == VCSE


# ---- self-referral ---------------------------------------------------------------------------------------------

FORM: dict[str, Any] = {
    "requester": "young-person",
    "given_name": "Amara",
    "family_name": "Okafor",
    "birth_date": "2011-03-04",
    "areas": ["worry"],
    "may_tell": ["gp", "camhs"],
    "do_not_tell": ["school"],
    "contact_method": "letter",
    "help_wanted": "Please do not tell my school",
}


def test_who_must_not_be_told_becomes_the_young_person_s_refusal() -> None:
    referral, given, refused = map_form(json.dumps(FORM).encode(), NOW).events
    assert referral["payload"][1]["help_wanted"] == "Please do not tell my school"
    assert given["kind"] == "consent.given"
    assert given["payload"][1]["recipient_organisation_types"] == ["camhs", "gp-practice"]
    assert given["payload"][1]["categories"] == ["self-referral", "mental-health"]
    assert given["payload"][1]["purposes"] == ["direct-care"]
    assert refused["kind"] == "consent.refused" and refused["category"] == "consent"
    r = refused["payload"][1]
    assert r["status"] == "refused" and r["given_by"] == "young-person" and r["competent"] is None
    assert r["recipient_organisation_types"] == ["school"]
    assert r["categories"] == ["self-referral", "mental-health"] and r["purposes"] == []
    assert r["consent_id"] != given["payload"][1]["consent_id"]
    parent = map_form(json.dumps({**FORM, "requester": "parent"}).encode(), NOW).events
    assert parent[2]["payload"][1]["given_by"] == "parental-responsibility"
    assert len(map_form(json.dumps({**FORM, "do_not_tell": []}).encode(), NOW).events) == 2


def test_tell_and_do_not_tell_must_not_overlap() -> None:
    with pytest.raises(FormInvalid) as err:
        map_form(json.dumps({**FORM, "do_not_tell": ["school", "gp"]}).encode(), NOW)
    assert err.value.issues == [("do_not_tell", "you chose both to tell and not to tell: My GP (family doctor)")]
    with pytest.raises(FormInvalid) as bad:
        map_form(json.dumps({**FORM, "do_not_tell": ["headteacher"]}).encode(), NOW)
    assert bad.value.issues[0][0] == "do_not_tell"


def test_consent_and_competence_events_encode_with_the_avro_schemas() -> None:
    codec = EventCodec.load()
    consents = (
        CONSENTS + f"{UPN},K3,withdrawn,young-person,,,,,05/11/2025,,K1\r\n"
        f"{UPN},K1,given,young-person,camhs,,mental-health,direct-care,04/11/2025,,\r\n"
    )
    competence = COMPETENCE + f"{UPN},A1,not-competent,information sharing,,SN,,04/11/2025,gillick\r\n"
    events = (
        map_csv(consents.encode(), "consents", URN, None, NOW).events
        + map_csv(competence.encode(), "competence", URN, None, NOW).events
        + map_form(json.dumps(FORM).encode(), NOW).events
    )
    assert len(events) == 6
    for event in events:
        back = codec.decode(codec.encode(dict(event)))
        assert back["kind"] == event["kind"]
        assert back["payload"] == event["payload"], event["kind"]
