"""Social care JSON and SSDA903 returns, and VCSE records: census code lists enforced, rows kept when bad."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.batch import OrganisationMismatch
from connectors.errors import ConnectorError
from connectors.registry import CONNECTORS
from connectors.social_care import map as social_care
from connectors.social_care import ssda903
from connectors.vcse import map as vcse

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LA = "E08000035"


def _records(*records: dict[str, Any]) -> bytes:
    return json.dumps({"la_code": LA, "records": list(records)}).encode()


def child(**extra: Any) -> dict[str, Any]:
    return {"la_child_id": "LA-77", "nhs_number": "9434765870", "date": "2025-11-01", **extra}


def test_every_stage_from_contact_to_closure() -> None:
    body = _records(
        child(type="contact", id="CT1", referral_id="R9"),
        child(type="referral", id="RF1", referral_id="R9"),
        child(type="assessment", id="AS1", referral_id="R9", outcome="cin"),
        child(type="cin_plan", id="CIN1", category_of_need="N1"),
        child(type="s47", id="S471", team_manager="TM-0042", reason="reasonable cause to suspect significant harm"),
        child(type="cp_plan", id="CP1", category_of_abuse="EMO", decided_by="ICPC chair CH-3", basis_reason="ICPC"),
        child(type="looked_after", id="LAC1", legal_status="C2"),
        child(type="closure", id="CIN1", end_reason="RC1"),
    )
    batch = social_care.map_json(body, LA, NOW)
    assert not batch.errors
    assert [e["kind"] for e in batch.events] == [
        "referral.received",
        "referral.accepted",
        "assessment.completed",
        "plan.started",
        "concern.raised",
        "plan.started",
        "plan.started",
        "plan.ended",
    ]
    cp = batch.events[5]
    assert cp["payload"][1]["category_code"] == "EMO" and cp["payload"][1]["plan_type"] == "child-protection"
    assert cp["sharing_basis"]["reference"] == "safeguarding"
    assert batch.events[0]["correlation_ids"]["referral"] == "R9"
    assert all(e["source"]["organisation"] == LA for e in batch.events)


def test_codes_are_checked_and_declined_referrals_must_say_where() -> None:
    body = _records(
        child(type="cin_plan", id="P", category_of_need="N9"),
        child(type="cp_plan", id="Q", category_of_abuse="XYZ"),
        child(type="referral", id="R", outcome="nfa"),
        child(type="referral", id="S", outcome="nfa", redirected_to="early-help"),
        child(type="contact", id="T", nhs_number="9434765871"),
    )
    batch = social_care.map_json(body, LA, NOW)
    assert [(i.location, i.reason) for i in batch.errors] == [
        ("records[0].category_of_need", "must be a category of need N0-N8"),
        ("records[1].category_of_abuse", "must be a category of abuse NEG, PHY, SAB, EMO or MUL"),
        ("records[2].redirected_to", "a declined referral must say where it was redirected (no wrong door)"),
        ("records[4].nhs_number", "NHS number fails its check digit"),
    ]
    (declined,) = batch.events
    assert declined["kind"] == "referral.declined"
    assert declined["payload"][1]["redirected_to"] == "early-help"


def test_ssda903_header_and_episodes() -> None:
    header = (
        b"CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\r\n1001,1,04/03/2011,WBRI,B801200005001,,\r\n"
        b"1002,2,31/02/2011,WBRI,UN1,,\r\n"
    )
    batch = ssda903.map_csv(header, "ssda903-header", LA, None, NOW)
    assert [e["kind"] for e in batch.events] == ["person.registered"]
    assert batch.events[0]["subject"]["birth_date"] == date(2011, 3, 4)
    assert [(i.location, i.reason) for i in batch.errors] == [
        ("row 3, column DOB", "not a date (expected dd/mm/yyyy or yyyy-mm-dd)")
    ]
    episodes = (
        b"CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN\r\n"
        b"1001,01/09/2024,S,C2,N1,U1,PR1,01/03/2025,E11,,LS1,LS2,SC1\r\n"
        b"1001,02/03/2025,P,C2,N1,U1,PR1,,,,LS1,LS2,SC1\r\n"
        b"1001,02/03/2025,P,C2,N1,U1,PR1,01/01/2025,,,LS1,LS2,SC1\r\n"
    )
    batch = ssda903.map_csv(episodes, "ssda903-episodes", LA, None, NOW)
    assert [e["kind"] for e in batch.events] == ["plan.started", "plan.ended", "plan.started"]
    assert batch.events[1]["payload"][1]["end_reason"] == "E11"
    assert [(i.location, i.reason) for i in batch.errors] == [("row 4, column DEC", "DEC is before DECOM")]


def test_la_cannot_publish_as_another_organisation() -> None:
    with pytest.raises(OrganisationMismatch):
        social_care.map_json(_records(), "RX1", NOW)


def test_vcse_sessions_support_and_onward_referrals() -> None:
    body = json.dumps(
        {
            "organisation": "VCSE7",
            "records": [
                {
                    "type": "session",
                    "id": "S1",
                    "client_id": "K1",
                    "date": "2025-11-01",
                    "attended": True,
                    "consent_id": "CN1",
                    "service": "mentoring",
                },
                {
                    "type": "support_offered",
                    "id": "S2",
                    "client_id": "K1",
                    "date": "2025-11-02",
                    "support_offered": ["peer-support", "counselling"],
                },
                {
                    "type": "referral",
                    "id": "S3",
                    "client_id": "K1",
                    "date": "2025-11-03",
                    "referred_to": "CAMHS",
                    "referral_id": "R9",
                },
                {"type": "referral", "id": "S4", "client_id": "K1", "date": "2025-11-03"},
            ],
        }
    ).encode()
    batch = vcse.map_json(body, "VCSE7", NOW)
    assert [e["kind"] for e in batch.events] == ["vcse.session", "vcse.session", "referral.made"]
    assert batch.events[0]["sharing_basis"] == {
        "kind": "consent",
        "reference": "CN1",
        "decided_by": None,
        "reason": None,
    }
    assert batch.events[1]["payload"][1]["support_offered"] == ["peer-support", "counselling"]
    assert batch.events[2]["correlation_ids"] == {"referral": "R9"}
    assert [(i.location, i.reason) for i in batch.errors] == [("records[3].referred_to", "required value is missing")]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(
                ["type", "id", "la_child_id", "nhs_number", "date", "category_of_need", "status", "outcome"]
            ),
            st.one_of(
                st.none(),
                st.integers(),
                st.sampled_from(
                    [
                        "contact",
                        "cin_plan",
                        "cp_plan",
                        "closure",
                        "N1",
                        "EMO",
                        "2025-11-01",
                        "9434765870",
                        "",
                        "ended",
                        "nfa",
                    ]
                ),
            ),
            max_size=8,
        ),
        max_size=5,
    )
    | st.integers()
)
def test_any_social_care_json_is_accepted_or_rejected_with_a_reason(records: Any) -> None:
    try:
        batch = social_care.map_json(json.dumps({"la_code": LA, "records": records}).encode(), LA, NOW)
    except ConnectorError as exc:
        assert exc.reason
        return
    assert all(i.reason and i.location.startswith("records[") for i in batch.errors)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from(["education", "social_care", "vcse"]),
    st.dictionaries(
        st.sampled_from(["school_urn", "la_code", "organisation", "records", "sen", "pupils", "attendance", "x"]),
        json_values,
        max_size=4,
    ),
)
def test_any_json_body_is_accepted_or_rejected_with_a_location(connector: str, body: dict[str, Any]) -> None:
    org = {"education": "100001", "social_care": LA, "vcse": "VCSE7"}[connector]
    try:
        batch = CONNECTORS[connector](json.dumps(body).encode(), f"application/json; org={org}", NOW)
    except ConnectorError as exc:
        assert exc.reason and exc.location
    else:
        assert all(i.reason and i.location for i in batch.issues)


def test_the_childs_own_words_are_a_voice_entry() -> None:
    body = _records(child(type="voice", id="V1", text="I want to live with my nan", topic="placement"))
    (event,) = social_care.map_json(body, LA, NOW).events
    assert (event["kind"], event["category"]) == ("voice.recorded", "voice-of-child")
    assert event["payload"][1]["text"] == "I want to live with my nan"
    vcse_body = json.dumps(
        {
            "organisation": "VCSE7",
            "records": [
                {"type": "voice", "id": "V2", "client_id": "K1", "date": "2025-11-01", "medium": "drew"},
            ],
        }
    ).encode()
    batch = vcse.map_json(vcse_body, "VCSE7", NOW)
    assert [(i.location, i.reason) for i in batch.errors] == [("records[0].text", "required value is missing")]
