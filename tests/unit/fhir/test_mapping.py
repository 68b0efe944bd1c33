"""Every timeline entry maps to a valid R4 resource at every level; summary and flag shaping; nothing hidden."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from consent_engine import Level
from hub.fhir.mapping import FALLBACK, MAPPINGS, resource_type_for, to_resource
from hub.fhir.meta import ACT_CODE, CONFIDENTIALITY, DISCLOSURE_TAG, Served
from hub.fhir.paging import page, time_key
from hub.fhir.service import served_items
from hub.policy_files import load_policy
from hub.read.story import Story
from projections.timeline import timeline_row
from tests.support.events import event
from tests.support.story import CAMHS, GP, SCHOOL, story

CHILD = "0b6f3c1e-8a51-4a8e-9c51-3f0c2f7f6e11"

EXTRA = [
    event(
        "encounter.attended",
        "encounter",
        "RX1",
        "Encounter",
        {"encounter_id": "E1", "encounter_class": "emergency", "location": "ED", "clinician": "Dr A"},
        day=3,
    ),
    event(
        "appointment.booked",
        "appointment",
        CAMHS,
        "Appointment",
        {"appointment_id": "A1", "status": "booked", "service": "CAMHS", "reason": "follow up"},
        day=4,
    ),
    event(
        "communication.sent",
        "referral",
        GP,
        "Communication",
        {"communication_id": "M1", "medium": "letter", "topic": "discharge summary"},
        day=5,
    ),
    event(
        "attendance.weekly",
        "attendance",
        SCHOOL,
        "AttendanceSummary",
        {
            "week_start": date(2026, 9, 7),
            "possible_sessions": 10,
            "present_sessions": 7,
            "approved_activity_sessions": 0,
            "authorised_absence_sessions": 2,
            "unauthorised_absence_sessions": 1,
            "late_sessions": 0,
            "attendance_rate": 0.7,
            "persistent_absence": False,
        },
        day=6,
    ),
    event(
        "referral.received",
        "referral",
        CAMHS,
        "Referral",
        {"referral_id": "R9", "status": "received", "urgency": "urgent", "reason": "low mood"},
        day=7,
        labels=("PSY", "ETH"),
    ),
]


def rows() -> list[dict[str, Any]]:
    return [timeline_row(e | {"child_id": CHILD}) for e in [*story(CHILD), *EXTRA]]


def served(row: dict[str, Any], level: str) -> Served:
    return Served(
        row=row,
        level=level,
        org_name=f"Org {row['source_org']}",
        message="A record exists. Contact Org: duty desk, 01632 960000.",
        contact="duty desk, 01632 960000",
    )


@pytest.mark.parametrize("level", ["full", "summary", "flag"])
def test_every_entry_validates_at_every_level(level: str) -> None:
    for row in rows():
        resource = to_resource(served(row, level))
        model = get_fhir_model_class(resource["resourceType"])
        model.model_validate(resource)  # raises if not valid R4
        assert resource["id"] == row["entry_id"]
        assert resource["meta"]["source"].startswith("urn:onestory:source:")
        assert resource["meta"]["tag"] == [{"system": DISCLOSURE_TAG, "code": level}]
        assert resource["meta"]["security"][0]["system"] == CONFIDENTIALITY


def test_the_mapping_is_data_driven_by_payload_record() -> None:
    by_type = {r["detail"]["type"]: resource_type_for(served(r, "full")) for r in rows()}
    assert by_type["Referral"] == "ServiceRequest" and by_type["Plan"] == "CarePlan"
    assert by_type["Assessment"] == "Observation" and by_type["Concern"] == "Condition"
    assert by_type["Voice"] == "Communication" and by_type["Encounter"] == "Encounter"
    assert by_type["Person"] == "EpisodeOfCare"  # person.registered: a registration, not an observation
    assert FALLBACK.resource_type == "Observation"
    assert all(resource_type_for(served(r, "flag")) == "Flag" for r in rows())
    assert set(MAPPINGS) >= {"Encounter", "Referral", "Plan", "Thrive", "Assessment", "Concern", "Voice"}


def test_full_carries_detail_and_every_sensitivity_label() -> None:
    row = next(r for r in rows() if r["detail"].get("referral_id") == "R9")
    resource = to_resource(served(row, "full"))
    codes = {(s["system"], s["code"]) for s in resource["meta"]["security"]}
    assert {(ACT_CODE, "PSY"), (ACT_CODE, "ETH"), (CONFIDENTIALITY, "R")} <= codes
    assert resource["reasonCode"] == [{"text": "low mood"}] and resource["priority"] == "urgent"


def test_summary_carries_only_the_summary() -> None:
    for row in rows():
        resource = to_resource(served(row, "summary"))
        text = json.dumps(resource)
        assert row["summary"] in resource["text"]["div"] or "&" in row["summary"]
        for key, value in row["detail"].items():
            if (
                key != "type"
                and isinstance(value, str)
                and len(value) > 3
                and value not in row["summary"] + row["source_org"] + row["occurred_at"].isoformat()
            ):
                assert value not in text, (row["kind"], key)
    thrive = next(r for r in rows() if r["kind"] == "thrive.agreed")
    summary = to_resource(served(thrive, "summary"))
    assert "valueString" not in summary and "note" not in summary


def test_flag_says_only_who_is_involved_and_whom_to_contact() -> None:
    assessment = next(r for r in rows() if r["kind"] == "assessment.completed")
    flag = to_resource(served(assessment, "flag"))
    assert flag["resourceType"] == "Flag"
    assert flag["code"]["text"] == "involved: Org RX4, contact duty desk, 01632 960000"
    text = json.dumps(flag)
    for leak in ("RCADS", "62", "assessment", "PSY", assessment["summary"]):
        assert leak not in text
    assert [s["code"] for s in flag["meta"]["security"]] == ["R"]


def test_hidden_entries_are_never_served_and_change_no_totals_or_pages() -> None:

    policy = load_policy(None)
    all_rows = rows()
    shown = Story(CHILD, False, rows=all_rows)
    cycle = [Level.FULL, Level.NONE, Level.SUMMARY, Level.FLAG, Level.NONE]
    for n, row in enumerate(all_rows):
        shown.levels[row["entry_id"]] = cycle[n % len(cycle)]
        if shown.levels[row["entry_id"]] is not Level.NONE:
            shown.entries.append({"id": row["entry_id"], "note": "A record exists. Contact X: y."})
    items = served_items(policy, shown)
    hidden = {r["entry_id"] for r in all_rows if shown.levels[r["entry_id"]] is Level.NONE}
    assert hidden and not hidden & {i.row["entry_id"] for i in items}
    keyed = [((3, time_key(i.row["occurred_at"]), i.row["entry_id"]), i) for i in items]
    first, more = page(keyed, None, 3)
    assert len(first) == 3 and more  # full pages of visible entries only
    for _, item in keyed:
        text = json.dumps(to_resource(item))
        assert not any(entry_id in text for entry_id in hidden)
