"""School MIS exports: every row is accepted or rejected by row number and column; attendance is summarised."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.batch import OrganisationMismatch
from connectors.education.attendance import split_marks, summarise
from connectors.education.map import map_csv, map_json
from connectors.errors import ConnectorError
from connectors.identifiers import UPN_SYSTEM

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
URN = "100001"
GOOD_UPN, BAD_UPN = "B801200005001", "A801200005001"


def test_attendance_summary_rate_and_persistent_absence() -> None:
    s = summarise(split_marks("/ \\ / \\ N U C1 / / \\"))
    assert (s.possible, s.present, s.authorised, s.unauthorised, s.late) == (10, 7, 1, 2, 1)
    assert s.rate == pytest.approx(0.7) and s.persistent_absence
    full = summarise(split_marks("/\\/\\/\\/\\K\\"))
    assert full.rate == 1.0 and not full.persistent_absence
    assert summarise(split_marks("/ \\ / \\ / \\ / \\ / X")).possible == 9  # X is not a possible session
    boundary = summarise(split_marks("/ \\ / \\ / \\ / \\ / O"))
    assert boundary.rate == pytest.approx(0.9) and not boundary.persistent_absence  # below 90% only


def test_good_rows_go_in_and_bad_rows_are_reported_by_row_and_column() -> None:
    csv = (
        "UPN,Forename,Surname,DOB,Week Start,Marks\r\n"
        f"{GOOD_UPN},Amara,Okafor,04/03/2011,03/11/2025,/ \\ / \\ N U C1 / / \\\r\n"
        f"{BAD_UPN},X,Y,04/03/2011,03/11/2025,/ / / / / / / / / /\r\n"
        f"{GOOD_UPN},Amara,Okafor,04/03/2011,10/11/2025,/ \\ Q9 \\\r\n"
        f"{GOOD_UPN},Amara,Okafor,04/03/2011,31/02/2025,/ \\\r\n"
    ).encode()
    batch = map_csv(csv, "attendance", URN, None, NOW)
    assert [e["kind"] for e in batch.events] == ["attendance.summary"]
    event = batch.events[0]
    assert event["payload"][1]["persistent_absence"] is True
    assert event["payload"][1]["week_start"] == date(2025, 11, 3)
    assert event["source"]["organisation"] == URN and event["category"] == "attendance"
    assert {"system": UPN_SYSTEM, "value": GOOD_UPN, "validated": True} in event["subject"]["identifiers"]
    assert [(i.location, i.reason) for i in batch.errors] == [
        ("row 3, column UPN", "UPN fails its check letter"),
        ("row 4, column Marks", "unknown attendance code 'Q9' at session 3"),
        ("row 5, column Week Start", "not a date (expected dd/mm/yyyy or yyyy-mm-dd)"),
    ]
    # each bad row is kept alone, with the header, so it can be replayed by itself
    assert batch.errors[0].body is not None and batch.errors[0].body.startswith(b"UPN,Forename")
    assert batch.errors[0].body.count(b"\r\n") == 2
    assert batch.errors[0].content_type == f"text/csv; type=attendance; org={URN}"
    # no personal data in reasons
    assert not any(GOOD_UPN in i.reason or "Okafor" in i.reason for i in batch.errors)


def test_replaying_the_same_export_gives_the_same_event_ids() -> None:
    csv = f"UPN,Type,StartDate,Sessions,Reason\r\n{GOOD_UPN},suspension,03/11/2025,4,PA\r\n".encode()
    first = map_csv(csv, "exclusions", URN, None, NOW)
    again = map_csv(csv, "exclusions", URN, None, datetime(2026, 11, 23, tzinfo=UTC))
    assert [e["event_id"] for e in first.events] == [e["event_id"] for e in again.events]
    assert first.events[0]["payload"][1]["exclusion_type"] == "suspension"


def test_a_school_cannot_publish_as_another_organisation() -> None:
    csv = f"URN,UPN,Status\r\n999999,{GOOD_UPN},K\r\n".encode()
    with pytest.raises(OrganisationMismatch):
        map_csv(csv, "sen", URN, None, NOW)
    with pytest.raises(OrganisationMismatch):
        map_json(json.dumps({"school_urn": "RX1", "sen": []}).encode(), URN, NOW)


def test_json_export_with_every_record_type() -> None:
    body = {
        "school_urn": URN,
        "pupils": [{"UPN": GOOD_UPN, "Forename": "Amara", "Surname": "Okafor", "DOB": "2011-03-04"}],
        "sen": [{"UPN": GOOD_UPN, "Status": "E", "PreviousStatus": "K", "PrimaryNeed": "SEMH"}],
        "concerns": [
            {
                "UPN": GOOD_UPN,
                "Type": "safeguarding",
                "ConcernId": "C9",
                "RaisedDate": "2025-11-03",
                "DecidedBy": "DSL STAFF-12",
                "Reason": "disclosure of harm at home",
            },
            {"UPN": GOOD_UPN, "Type": "pastoral", "ConcernId": "C10", "RaisedDate": "2025-11-04"},
        ],
        "referrals": [{"UPN": GOOD_UPN, "ReferralId": "R1", "ReferredTo": "MHST", "Date": "2025-11-05"}],
        "exclusions": [{"UPN": GOOD_UPN, "Type": "expelled", "StartDate": "2025-11-05"}],
    }
    batch = map_json(json.dumps(body).encode(), URN, NOW)
    kinds = sorted((e["kind"], e["category"]) for e in batch.events)
    assert kinds == sorted(
        [
            ("person.registered", "demographics"),
            ("sen.status-changed", "education-sen"),
            ("concern.raised", "safeguarding-concern"),
            ("concern.raised", "pastoral-concern"),
            ("referral.made", "referral"),
        ]
    )
    safeguarding = next(e for e in batch.events if e["category"] == "safeguarding-concern")
    assert safeguarding["sharing_basis"]["kind"] == "lawful_basis"
    referral = next(e for e in batch.events if e["kind"] == "referral.made")
    assert referral["correlation_ids"] == {"referral": "R1"}
    assert [(i.location, i.reason) for i in batch.errors] == [
        ("exclusions[0].Type", "type must be suspension or permanent")
    ]


def test_unknown_record_type_is_rejected_whole() -> None:
    with pytest.raises(ConnectorError) as err:
        map_csv(b"UPN\r\nB801200005001\r\n", "dinner-money", URN, None, NOW)
    assert err.value.location == "type"


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from(["pupils", "attendance", "exclusions", "sen", "concerns", "referrals"]),
    st.lists(
        st.lists(
            st.sampled_from(
                [
                    GOOD_UPN,
                    BAD_UPN,
                    "",
                    "03/11/2025",
                    "2025-13-40",
                    "/ \\ N",
                    "K",
                    "E",
                    "suspension",
                    "safeguarding",
                    "C1",
                    "x,y",
                    '"',
                    "\n",
                    "9",
                ]
            ),
            min_size=0,
            max_size=8,
        ),
        max_size=6,
    ),
)
def test_any_csv_rows_are_accepted_or_rejected_with_row_and_column(rtype: str, rows: list[list[str]]) -> None:
    header = "UPN,Week Start,Marks,Type,Status,StartDate,ConcernId,RaisedDate,ReferralId,Date,DOB"
    text = header + "\r\n" + "\r\n".join(",".join(r) for r in rows)
    try:
        batch = map_csv(text.encode(), rtype, URN, None, NOW)
    except ConnectorError as exc:
        assert exc.reason and exc.location
        return
    for issue in batch.errors:
        assert issue.location.startswith("row ") and issue.reason and issue.body
