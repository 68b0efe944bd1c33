"""HL7 v2 CON segments → consent events; PV1-16 / PV1-10 / PV1-3 / DG1-3 → labels and sealed categories. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.errors import MappingError
from connectors.hl7v2.map import Hl7Mapping, map_message
from connectors.hl7v2.parse import parse
from hub.events.codec import EventCodec
from hub.events.model import Envelope

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CODEC = EventCodec.load()


def pv1(service: str = "MED", vip: str = "", point_of_care: str = "OPD") -> str:
    fields = [""] * 20
    fields[0], fields[1], fields[2], fields[3] = "PV1", "1", "O", f"{point_of_care}^^^RX1"
    fields[10], fields[16], fields[19] = service, vip, "V1"
    return "|".join(fields)


def message(visit: str = "", *extra: str, version: str = "2.6") -> bytes:
    lines = [
        f"MSH|^~\\&|PAS|RX1|ONESTORY|HUB|20261122090000||ADT^A04|M1|P|{version}",
        "EVN|A04|20261122090000",
        "PID|1||9434765870^^^NHS^NH||Okafor^Amara||20110304|F",
        visit or pv1(),
        *extra,
    ]
    return "\r".join(lines).encode()


def events(raw: bytes) -> list[Envelope]:
    found = map_message(parse(raw), Hl7Mapping.bundled(), NOW)
    for e in found:
        CODEC.encode(dict(e))
    return found


def con(status: str = "A", kind: str = "", relationship: str = "", competent: str = "", form: str = "CF-1") -> str:
    fields = [""] * 26
    fields[0], fields[1], fields[2], fields[4] = "CON", "1", kind, form
    fields[11], fields[13], fields[16], fields[25] = status, "20261122085500", competent, relationship
    return "|".join(fields)


def test_no_marker_leaves_the_encounter_as_it_was() -> None:
    (event,) = events(message())
    assert (event["category"], event["sensitivity_labels"]) == ("encounter", [])
    assert event["sharing_basis"]["reference"] == "direct-care"  # the ADT feed's basis stays direct care


@pytest.mark.parametrize(
    ("visit", "labels", "category"),
    [
        (pv1(vip="R"), ["R"], "encounter"),  # PV1-16 VIP indicator / confidentiality
        (pv1(vip="V"), ["V"], "encounter"),
        (pv1(service="GUM"), [], "sexual-health"),  # PV1-10 hospital service
        (pv1(service="501"), [], "pregnancy"),
        (pv1(service="711"), ["PSY"], "mental-health"),
        (pv1(point_of_care="GIC"), [], "gender-identity"),  # PV1-3.1 point of care
    ],
)
def test_pv1_markers(visit: str, labels: list[str], category: str) -> None:
    (event,) = events(message(visit))
    assert (event["sensitivity_labels"], event["category"]) == (labels, category)


def test_dg1_diagnosis_goes_through_the_value_sets() -> None:
    (event,) = events(message(pv1(), "DG1|1||F10.2^Alcohol dependence^I10"))
    assert (event["sensitivity_labels"], event["category"]) == (["ETH", "PSY"], "substance-use")


def test_a_person_update_keeps_its_category_but_carries_the_label() -> None:
    raw = message(pv1(service="GUM", vip="V")).replace(b"ADT^A04", b"ADT^A08")
    (event,) = events(raw)
    assert (event["category"], event["sensitivity_labels"]) == ("demographics", ["V"])


def test_con_refusal_by_a_competent_young_person() -> None:
    main, refusal = events(message(pv1(), con("R", "SHARE-SCHOOL", "1", "Y")))
    assert main["kind"] == "encounter.started"
    assert (refusal["kind"], refusal["category"]) == ("consent.refused", "consent")
    payload = refusal["payload"][1]
    assert payload["consent_id"] == "CF-1" and payload["given_by"] == "young-person" and payload["competent"] is True
    assert payload["recipient_organisation_types"] == ["school"] and payload["purposes"] == ["direct-care"]
    assert refusal["occurred_at"] == datetime(2026, 11, 22, 8, 55, tzinfo=UTC)
    assert refusal["sharing_basis"]["kind"] == "consent"
    assert refusal["event_id"] != main["event_id"]


@pytest.mark.parametrize(
    ("segment", "status", "given_by", "competent"),
    [
        (con("A", relationship="2"), "given", "parental-responsibility", None),
        (con("L", relationship="5", competent="Y"), "given", "parental-responsibility", None),
        (con("X"), "withdrawn", "young-person", None),
        (con("A", competent="N"), "given", "young-person", False),
    ],
)
def test_con_statuses_and_who_decided(segment: str, status: str, given_by: str, competent: bool | None) -> None:
    _, consent = events(message(pv1(), segment))
    payload = consent["payload"][1]
    assert (payload["status"], payload["given_by"], payload["competent"]) == (status, given_by, competent)
    assert payload["recipient_organisation_types"] == ["gp-practice", "camhs", "acute-trust", "community-health"]


def test_pending_and_bypassed_are_not_decisions() -> None:
    assert len(events(message(pv1(), con("P"), con("B")))) == 1


@pytest.mark.parametrize(
    ("segment", "location"),
    [
        (con("Q"), "CON-11"),
        (con("A", relationship="3"), "CON-25"),  # a next of kin cannot decide for a child here
        (con("A", kind="OPERATION"), "CON-2"),
    ],
)
def test_con_the_hub_cannot_place_is_refused_with_its_field(segment: str, location: str) -> None:
    with pytest.raises(MappingError) as err:
        events(message(pv1(), segment))
    assert err.value.location == location


@pytest.mark.parametrize("version", ["2.3", "2.4", "2.5", "2.5.1", "2.8"])
def test_con_is_read_in_any_supported_version(version: str) -> None:
    found = events(message(pv1(), con("R"), version=version))
    assert [e["kind"] for e in found] == ["encounter.started", "consent.refused"]
