"""My story's pure parts: the choice a person has made, the consent changes a new choice makes, the events the
connector builds from them, and the IG alert on a locked code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from connectors.errors import MappingError
from connectors.my_story.map import map_choices, map_question
from connectors.registry import CONNECTORS
from consent_engine import Consenter, ConsentRecord, ConsentStatus
from hub.audit.alerts import access_code_locked
from hub.read.my_story import NO, YES, choice_state, plan_changes, words
from tests.support.reading_age import grade

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
SCHOOL_TYPES = frozenset(words().organisations["school"]["types"])
HEALTH_INFO = frozenset(words().information["health"]["categories"])


def _record(status: ConsentStatus, by: Consenter, minutes: int, **scope: frozenset[str]) -> ConsentRecord:
    return ConsentRecord(
        id=f"{status.value}-{minutes}",
        status=status,
        by=by,
        recorded_at=NOW - timedelta(minutes=minutes),
        purposes=frozenset({"direct-care"}),
        **scope,
    )


def test_the_latest_own_choice_decides_each_cell_and_a_parents_choice_is_not_the_young_persons() -> None:
    records = [
        _record(
            ConsentStatus.GIVEN, Consenter.YOUNG_PERSON, 60, organisation_types=SCHOOL_TYPES, categories=HEALTH_INFO
        ),
        _record(ConsentStatus.REFUSED, Consenter.YOUNG_PERSON, 10, organisation_types=SCHOOL_TYPES),
        _record(
            ConsentStatus.GIVEN,
            Consenter.PARENTAL_RESPONSIBILITY,
            5,
            organisation_types=SCHOOL_TYPES,
            categories=HEALTH_INFO,
        ),
    ]
    mine = choice_state(records, "young-person", NOW)
    assert mine[("school", "health")] == NO  # the later refusal, unscoped by category, covers it
    assert mine[("health", "health")] is None  # she has said nothing about health services
    assert choice_state(records, "parental-responsibility", NOW)[("school", "health")] == YES
    assert choice_state(records[:1], "young-person", NOW)[("school", "health")] == YES


def test_a_no_to_a_yes_is_a_withdrawal_any_other_no_a_refusal_and_unchanged_cells_send_nothing() -> None:
    current = {("school", "health"): YES, ("school", "school"): None, ("support", "support"): NO}
    wanted = {("school", "health"): NO, ("school", "school"): NO, ("support", "support"): NO, ("health", "health"): YES}
    planned = {tuple(p["cell"]): p["status"] for p in plan_changes(current, wanted)}
    assert planned == {
        ("school", "health"): "withdrawn",
        ("school", "school"): "refused",
        ("health", "health"): "given",
    }


def test_the_connector_makes_consent_events_from_the_young_person_with_the_hub_page_as_source() -> None:
    changes = [
        {"status": "withdrawn", "organisation_types": ["school"], "categories": ["mental-health"]},
        {"status": "given", "organisation_types": ["gp-practice"], "categories": ["mental-health"]},
    ]
    body = {
        "choice_id": "MS-ABCD-1",
        "given_by": "young-person",
        "identifiers": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765870"}],
        "changes": changes,
    }
    events = map_choices(json.dumps(body).encode(), NOW).events
    assert [e["kind"] for e in events] == ["consent.withdrawn", "consent.given"]
    assert {e["source"]["organisation"] for e in events} == {"ONESTORY"}
    payloads = [e["payload"][1] for e in events]
    assert [p["given_by"] for p in payloads] == ["young-person", "young-person"]
    assert payloads[0]["recipient_organisation_types"] == ["school"] and payloads[0]["purposes"] == []
    assert payloads[1]["purposes"] == ["direct-care"]
    # The same submission gives the same events (a double submit is absorbed as a duplicate).
    assert [e["event_id"] for e in map_choices(json.dumps(body).encode(), NOW).events] == [
        e["event_id"] for e in events
    ]


def _question(**change: object) -> bytes:
    body = {
        "message_id": "MS-ABCD-1",
        "given_by": "young-person",
        "identifiers": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765870"}],
        "to": {"organisation": "A81001", "type": "gp-practice", "name": "Riverside Medical Practice"},
        "about": "correction",
        "text": " My address is wrong. ",
    }
    return json.dumps(body | change).encode()


def test_a_question_is_her_own_words_filed_with_the_organisation_it_is_for_and_shared_no_wider() -> None:
    (event,) = map_question(_question(), NOW).events
    assert (event["kind"], event["category"]) == ("voice.recorded", "voice-of-child")
    assert (event["source"]["organisation"], event["source"]["organisation_type"]) == ("A81001", "gp-practice")
    assert event["sharing_basis"]["kind"] == "none"  # its own organisation sees it; others as her choices allow
    voice = event["payload"][1]
    assert voice["text"] == "My address is wrong." and voice["captured_by_role"] == "young-person"
    assert voice["topic"] == "Something is wrong for Riverside Medical Practice"
    # dead-letter replay takes the same path
    assert CONNECTORS["my_story"](_question(), "application/json", NOW).events[0]["event_id"] == event["event_id"]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"given_by": "parental-responsibility"}, "given_by"),
        ({"about": "complaint"}, "about"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 2001}, "text"),
        ({"to": {"organisation": "A81001", "type": "bank"}}, "to.type"),
        ({"to": None}, "to.organisation"),
    ],
)
def test_a_question_the_page_could_not_have_sent_is_refused_naming_the_field(
    change: dict[str, object], where: str
) -> None:
    with pytest.raises(MappingError) as refused:
        map_question(_question(**change), NOW)
    assert refused.value.location == where


def test_a_locked_code_is_an_ig_alert_and_nothing_else_is() -> None:
    items = [
        {"seq": 1, "action": "sign-in", "outcome": "denied", "user": "my-story:ABCD", "childId": "c1"},
        {"seq": 2, "action": "sign-in", "outcome": "locked", "user": "my-story:ABCD", "childId": "c1"},
        {"seq": 3, "action": "sign-in", "outcome": "success", "user": "my-story:EFGH", "childId": "c1"},
    ]
    (alert,) = access_code_locked(items)
    assert (alert.rule, alert.seqs, alert.child_id) == ("access-code-locked", (2,), "c1")


def test_the_reading_age_tells_plain_words_from_officialese() -> None:
    assert grade("You can say no. It counts straight away.") <= 3
    assert grade("Information governance officers audit disclosures under the Data Protection Act.") > 12
