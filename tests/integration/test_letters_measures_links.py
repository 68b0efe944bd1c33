"""Issue 18 item 5 through the interfaces senders and practitioners use: HL7 v2 over a real MLLP socket into a
running hub, read back over the JSON timeline and the FHIR API as each role.

A CAMHS letter (MDM^T02) reaches the CAMHS clinician at full with its text and not the teacher; an SDQ series
(ORU^R01) shows its scores and their trend; SIU^S12 then S15 shows booked then cancelled; ADT^A24 links two
source records so that both records' events land on one child. Runs on SQLite and on the local PostgreSQL.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import pytest

from connectors.hl7v2.mllp_client import ack_code, send_message
from connectors.identifiers import NHS_NUMBER_SYSTEM
from connectors.publisher import Publisher
from hub.events.codec import EventCodec
from hub.kafka.producer import DurableProducer
from tests.support.hub_process import RunningHub
from tests.support.story import CAMHS, SCHOOL, story

pytestmark = pytest.mark.integration
NHS = "9434765870"
PID = f"PID|1||C77^^^RX4^MR~{NHS}^^^NHS^NH||Okafor^Amara||20110304|F"

LETTER = (
    "MSH|^~\\&|EPR|RX4|HUB|HUB|20261020101500||MDM^T02^MDM_T02|L1|P|2.5.1\r"
    "EVN|T02|20261020101500\r"
    f"{PID}\r"
    "PV1|1|O|CAMHS1^^^RX4||||C4711^Mensah^Kofi|||CAMHS\r"
    "TXA|1|CL^Clinic letter|TX|20261020100000|C4711^Mensah^Kofi||20261020100000|||||DOC-991||||||AU||AV\r"
    "OBX|1|TX|LETTER^Letter text^L||Seen today in the CAMHS clinic with her mother.\r"
    "OBX|2|FT|LETTER^Letter text^L||Mood is lifting.\\.br\\Plan: review in four weeks.\r"
)


def oru(control: str, day: str, total: str, emotional: str) -> str:
    return (
        f"MSH|^~\\&|EPR|RX4|HUB|HUB|2026{day}0900||ORU^R01^ORU_R01|{control}|P|2.5.1\r"
        f"{PID}\r"
        f"OBR|1|{control}|F{control}|SDQ^SDQ parent-rated^L|||2026{day}0900\r"
        f"OBX|1|NM|SDQ-TOT^SDQ total difficulties^L||{total}||||||F|||2026{day}0900\r"
        f"OBX|2|NM|SDQ-EMO^SDQ emotional symptoms^L||{emotional}||||||F|||2026{day}0900\r"
    )


def siu(trigger: str) -> str:
    return (
        f"MSH|^~\\&|SCHED|RX4|HUB|HUB|20261101093000||SIU^{trigger}|S{trigger}|P|2.5.1\r"
        "SCH|PL1|APPT77||||ROUTINE^Routine|FOLLOWUP^Follow-up||||^^^20261110140000^20261110143000\r"
        f"{PID}\r"
        "AIS|1||CAMHS^CAMHS follow-up\r"
        "AIL|1||CLINIC3\r"
    )


def link(trigger: str) -> str:
    return (
        f"MSH|^~\\&|PAS|RX4|HUB|HUB|20261105093000||ADT^{trigger}|K{trigger}|P|2.4\r"
        f"EVN|{trigger}|20261105093000\r"
        "PID|1||C77^^^RX4^MR||Okafor^Amara||20110304|F\r"
        "PID|2||OLD5^^^RX4^MR||Okafor^Amy||20110403|F\r"
    )


OLD_RECORD = (  # an attendance under the second record only (another name and birth date), before the link
    "MSH|^~\\&|PAS|RX4|HUB|HUB|20261104093000||ADT^A04|OLD1|P|2.4\r"
    "EVN|A04|20261104093000\r"
    "PID|1||OLD5^^^RX4^MR||Okafor^Amy||20110403|F\r"
    "PV1|1|O|CAMHS1^^^RX4||||C4711^Mensah^Kofi|||CAMHS||||||||||V77\r"
)


def send(hub: RunningHub, text: str) -> str:
    ack = send_message(hub.mllp_host, hub.mllp_port, text.encode(), timeout=30)
    return ack_code(ack)


def get(hub: RunningHub, path: str, org: str, role: str, **params: str) -> httpx.Response:
    token = hub.token(user=f"u-{role}", org=org, role=role)
    return httpx.get(f"{hub.api}{path}", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def child_id(hub: RunningHub) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        bundle = get(hub, "/fhir/Patient", CAMHS, "camhs-clinician", identifier=f"{NHS_NUMBER_SYSTEM}|{NHS}").json()
        if bundle.get("total"):
            return str(bundle["entry"][0]["resource"]["id"])
        time.sleep(0.2)
    raise AssertionError("the child never appeared")


def entries(hub: RunningHub, child: str, org: str, role: str) -> list[dict[str, Any]]:
    reply = get(hub, f"/api/children/{child}/timeline", org, role)
    if reply.status_code == 404:
        return []
    reply.raise_for_status()
    found: list[dict[str, Any]] = reply.json()["entries"]
    return found


def wait_for_kinds(hub: RunningHub, child: str, want: dict[str, int]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        seen = entries(hub, child, CAMHS, "camhs-clinician")
        counts = {k: sum(1 for e in seen if e.get("kind") == k) for k in want}
        if all(counts[k] >= n for k, n in want.items()):
            return seen
        time.sleep(0.2)
    raise AssertionError(f"entries never arrived: want {want}, have {[e.get('kind') for e in seen]}")


def test_letters_measures_appointments_and_links_over_mllp(running_hub: RunningHub) -> None:
    hub = running_hub
    Publisher(DurableProducer(hub.kafka), EventCodec.load()).publish(story())  # the team: school, GP, CAMHS...
    child = child_id(hub)

    assert send(hub, LETTER) == "AA"
    for control, day, total, emotional in (
        ("Q1", "0901", "24", "8"),
        ("Q2", "1001", "19", "6"),
        ("Q3", "1101", "21", "7"),
    ):
        assert send(hub, oru(control, day, total, emotional)) == "AA"
    assert send(hub, siu("S12")) == "AA"
    assert send(hub, siu("S15")) == "AA"
    seen = wait_for_kinds(
        hub,
        child,
        {"letter.received": 1, "assessment.completed": 4, "appointment.booked": 1, "appointment.cancelled": 1},
    )

    # The letter: full, with its text, for the CAMHS clinician; absent for the teacher.
    (letter,) = [e for e in seen if e["kind"] == "letter.received"]
    assert letter["level"] == "full" and letter["category"] == "mental-health"
    assert "PSY" in letter["sensitivityLabels"]
    assert letter["summary"] == "Clinic letter"
    text = letter["detail"]["text"]
    assert "Seen today in the CAMHS clinic" in text and "Mood is lifting.\nPlan: review in four weeks." in text
    teacher = entries(hub, child, SCHOOL, "teacher")
    assert teacher, "the teacher sees the school's own entries"
    # Not the letter: at most the existence-only flag the policy gives teachers for mental health the young person
    # agreed to share with school (PSY limits it to a flag anyway): no kind, title, summary or text.
    for entry in teacher:
        assert entry.get("kind") != "letter.received"
        if entry["id"] == letter["id"]:
            assert entry["level"] == "flag" and not {"kind", "summary", "detail"} & set(entry)
    assert "Seen today" not in str(teacher) and "Clinic letter" not in str(teacher)
    # ...and over FHIR as a DocumentReference whose attachment is the text.
    docs = get(hub, "/fhir/DocumentReference", CAMHS, "camhs-clinician", patient=child).json()
    (doc,) = [x["resource"] for x in docs.get("entry", []) if x["resource"]["resourceType"] == "DocumentReference"]
    attached = next(c["attachment"] for c in doc["content"] if "data" in c["attachment"])
    assert base64.b64decode(attached["data"]).decode() == text
    assert doc["docStatus"] == "final" and doc["type"]["text"] == "Clinic letter"

    # The SDQ series: each score, and the trend from one to the next (lower difficulties are better).
    measures = [e for e in seen if e["kind"] == "assessment.completed" and e["detail"].get("measure")]
    sdq = sorted(measures, key=lambda e: e["occurredAt"])
    assert [e["detail"]["score_value"] for e in sdq] == [24.0, 19.0, 21.0]
    assert all(e["category"] == "assessment" and e["detail"]["measure"] == "sdq" for e in sdq)
    assert all("PSY" in e["sensitivityLabels"] for e in sdq)
    assert sdq[0]["detail"]["scores"] == {"SDQ total difficulties": "24", "SDQ emotional symptoms": "8"}
    assert "trend" not in sdq[0]["detail"]
    trend = sdq[1]["detail"]["trend"]
    assert (trend["previousScore"], trend["change"], trend["direction"]) == ("24", -5.0, "better")
    assert sdq[2]["detail"]["trend"]["direction"] == "worse" and sdq[2]["detail"]["respondent"] == "parent"
    observations = get(hub, "/fhir/Observation", CAMHS, "camhs-clinician", patient=child).json()
    scored = {
        x["resource"]["valueQuantity"]["value"]: x["resource"]
        for x in observations.get("entry", [])
        if "valueQuantity" in x["resource"]
    }
    assert scored[19.0]["interpretation"][0]["coding"][0]["code"] == "B"
    assert scored[21.0]["interpretation"][0]["coding"][0]["code"] == "W"

    # The appointment: booked, then cancelled, in that order.
    appts = sorted((e for e in seen if e["kind"].startswith("appointment.")), key=lambda e: e["id"])
    statuses = {e["kind"]: e["detail"]["status"] for e in appts}
    assert statuses == {"appointment.booked": "booked", "appointment.cancelled": "cancelled"}
    served = get(hub, "/fhir/Appointment", CAMHS, "camhs-clinician", patient=child).json()
    assert sorted(x["resource"]["status"] for x in served.get("entry", [])) == ["booked", "cancelled"]

    # ADT^A24: a second record (its own child until now) is linked to the first; both land on one child.
    assert send(hub, OLD_RECORD) == "AA"
    time.sleep(2)  # the old record's admission is projected on a child of its own...
    assert not any(e.get("kind") == "encounter.started" for e in entries(hub, child, CAMHS, "camhs-clinician"))
    assert send(hub, link("A24")) == "AA"
    seen = wait_for_kinds(hub, child, {"encounter.started": 1, "patient.linked": 1})
    assert any(e["kind"] == "encounter.started" and e["source"]["organisation"] == CAMHS for e in seen)
