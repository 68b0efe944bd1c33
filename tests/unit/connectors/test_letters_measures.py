"""Letters, outcome measures, referral orders and links at the connectors (issue 18 item 5); pure."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from connectors.errors import MappingError, OutOfScope
from connectors.fhir.map import map_request
from connectors.hl7v2.map import Hl7Mapping, map_message
from connectors.hl7v2.parse import parse
from hub.events.codec import EventCodec

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
MAPPING = Hl7Mapping.bundled()
CODEC = EventCodec.load()
PID = "PID|1||C77^^^RX4^MR~9434765870^^^NHS^NH||Okafor^Amara||20110304|F"


def hl7(text: str, org_type: str | None = "camhs") -> list[dict]:
    events = map_message(parse(text.encode()), MAPPING, NOW, organisation="RX4", organisation_type=org_type)
    for e in events:
        assert CODEC.decode(CODEC.encode(dict(e)))["event_id"] == e["event_id"]
    return events


def test_mdm_t01_is_a_letter_held_at_source_and_a_paediatric_letter_is_an_encounter() -> None:
    txa = "TXA|1|DS|TX|20261020100000||||||||D9|||||IP"  # TXA-17 IP: in progress
    text = f"MSH|^~\\&|EPR|RX1|HUB|HUB|20261020101500||MDM^T01|T1|P|2.5.1\r{PID}\r{txa}\r"
    (event,) = hl7(text, "acute-trust")
    assert (event["kind"], event["category"], event["summary"]) == (
        "letter.received",
        "encounter",
        "Discharge summary (held at source)",
    )
    assert event["payload"][1]["text"] is None and event["payload"][1]["status"] == "preliminary"


def test_a_psychiatric_document_type_is_mental_health_whoever_sends_it() -> None:
    text = f"MSH|^~\\&|EPR|RX1|HUB|HUB|20261020101500||MDM^T02|T2|P|2.5.1\r{PID}\rTXA|1|PC|TX\rOBX|1|TX|L||Text\r"
    (event,) = hl7(text, "acute-trust")
    assert (event["category"], event["sensitivity_labels"]) == ("mental-health", ["PSY"])


def test_mdm_without_txa_is_an_application_error() -> None:
    with pytest.raises(MappingError) as err:
        hl7(f"MSH|^~\\&|EPR|RX4|HUB|HUB|20261020101500||MDM^T02|T3|P|2.5.1\r{PID}\rOBX|1|TX|L||Text\r")
    assert err.value.location == "TXA" and not isinstance(err.value, OutOfScope)


def test_oru_outcome_measure_by_loinc_code() -> None:
    text = (
        f"MSH|^~\\&|EPR|RX4|HUB|HUB|20261020101500||ORU^R01|R1|P|2.5.1\r{PID}\r"
        "OBR|1|P1|F1|GAD|||20261020\rOBX|1|NM|70274-6^GAD-7 total score^LN||12||||||F\r"
    )
    (event,) = hl7(text)
    payload = event["payload"][1]
    assert (event["category"], payload["measure"], payload["score_value"]) == ("assessment", "gad7", 12.0)
    assert payload["higher_is_better"] is False and event["summary"].startswith("Outcome measure: ")


def test_orm_referral_order_is_taken_and_other_orders_are_out_of_scope() -> None:
    order = (
        "MSH|^~\\&|EPR|RX4|HUB|HUB|20261020101500||ORM^O01|O1|P|2.3\r" + PID + "\r"
        "ORC|NW|ORD1||||||^^^^^R|20261020\rOBR|1|ORD1||{code}|||20261020\r"
    )
    (event,) = hl7(order.format(code="REF^Referral to CAMHS^L"))
    assert (event["kind"], event["payload"][1]["to_service"]) == ("referral.made", "Referral to CAMHS")
    with pytest.raises(OutOfScope) as err:
        hl7(order.format(code="GENETICS^Genomics^L"))
    assert err.value.location == "OBR-4" and "orders" in err.value.reason


def test_a24_needs_the_second_pid() -> None:
    with pytest.raises(MappingError) as err:
        hl7(f"MSH|^~\\&|PAS|RX4|HUB|HUB|20261020101500||ADT^A37|K1|P|2.4\rEVN|A37|20261020\r{PID}\r")
    assert err.value.location == "PID[2]"


def fhir(resource: dict) -> list[dict]:
    batch = map_request(json.dumps(resource).encode(), "RX4", NOW)
    assert not batch.errors, batch.issues
    return batch.events


SUBJECT = {"identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765870"}}


def test_fhir_document_reference_carries_the_letter_text() -> None:
    data = base64.b64encode(b"Dear Dr Patel,\nSeen today.").decode()
    (event,) = fhir(
        {
            "resourceType": "DocumentReference",
            "id": "d1",
            "status": "current",
            "docStatus": "final",
            "type": {"text": "CAMHS clinic letter"},
            "subject": SUBJECT,
            "date": "2026-10-20T10:00:00Z",
            "content": [
                {"attachment": {"contentType": "text/plain; charset=utf-8", "data": data}},
                {"attachment": {"contentType": "application/pdf", "title": "Signed copy"}},
            ],
        }
    )
    payload = event["payload"][1]
    assert (event["kind"], event["category"], event["summary"]) == (
        "letter.received",
        "mental-health",
        "CAMHS clinic letter",
    )
    assert payload["text"] == "Dear Dr Patel,\nSeen today." and payload["attachments"] == [
        "application/pdf: Signed copy (held at source)"
    ]


def test_fhir_sdq_questionnaire_response_and_lab_observation() -> None:
    (event,) = fhir(
        {
            "resourceType": "QuestionnaireResponse",
            "id": "q1",
            "status": "completed",
            "questionnaire": "https://example.org/Questionnaire/sdq-parent",
            "subject": SUBJECT,
            "authored": "2026-10-01",
            "author": {"reference": "RelatedPerson/mum"},
            "item": [
                {"linkId": "emotional", "answer": [{"valueInteger": 6}]},
                {"linkId": "total", "answer": [{"valueInteger": 19}]},
            ],
        }
    )
    payload = event["payload"][1]
    assert (payload["measure"], payload["score_value"], payload["respondent"]) == ("sdq", 19.0, "parent")
    assert payload["scores"] == {"emotional": "6", "total": "19"} and "PSY" in event["sensitivity_labels"]
    lab = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}
        ],
        "code": {"text": "Haemoglobin"},
        "subject": SUBJECT,
        "valueQuantity": {"value": 130},
    }
    batch = map_request(json.dumps(lab).encode(), "RX4", NOW)
    assert [i.location for i in batch.errors] == ["Observation.category"]
    assert "general results" in batch.errors[0].reason
