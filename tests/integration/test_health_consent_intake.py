"""Health consent, competence, lawful basis and value sets through the real interfaces of a running hub.

FHIR over HTTP (`POST /intake/fhir`) and HL7 v2 over a real MLLP socket; the assertions read the events that
landed in the SQL archive (decoded from their Avro bodies) and the dead-letter table. Nothing is built past the
interface. Runs on SQLite and on the local PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from connectors.hl7v2.mllp_client import ack_code, send_message
from hub.db.tables import event_store
from hub.events.codec import EventCodec
from tests.integration.connectors_helpers import (
    accepted_ids,
    engine_for,
    error_paths,
    post,
    wait_for,
    wait_for_deadletters,
)
from tests.support.hub_process import RunningHub

pytestmark = pytest.mark.integration
HUB = "https://onestory.nhs.example"
NHS = {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765870"}
BASIS_URL = f"{HUB}/StructureDefinition/lawful-basis"
CAMHS, TRUST = "RX4", "RX1"


def _bundle(*resources: dict[str, Any]) -> bytes:
    return json.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    ).encode()


CONDITION = {
    "resourceType": "Condition",
    "id": "dx-1",
    "subject": {"identifier": NHS},
    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "F32.1"}]},
    "recordedDate": "2026-11-01",
}
CONSENT = {
    "resourceType": "Consent",
    "id": "yp-refuses-school",
    "status": "active",
    "scope": {"coding": [{"code": "patient-privacy"}]},
    "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
    "patient": {"identifier": NHS},
    "performer": [{"reference": "Patient/p1"}],
    "dateTime": "2026-11-02",
    "provision": {
        "type": "deny",
        "actor": [
            {
                "role": {"coding": [{"system": f"{HUB}/CodeSystem/organisation-type", "code": "school"}]},
                "reference": {"display": "my school"},
            }
        ],
        "class": [{"system": f"{HUB}/CodeSystem/category", "code": "mental-health"}],
    },
}
COMPETENCE = {
    "resourceType": "Observation",
    "id": "gillick-1",
    "status": "final",
    "code": {"coding": [{"system": f"{HUB}/CodeSystem/competence", "code": "assessment"}]},
    "subject": {"identifier": NHS},
    "effectiveDateTime": "2026-11-02T10:00:00Z",
    "performer": [{"reference": "Practitioner/dr-ahmed"}],
    "valueCodeableConcept": {"coding": [{"system": f"{HUB}/CodeSystem/competence", "code": "competent"}]},
    "component": [
        {"code": {"coding": [{"system": f"{HUB}/CodeSystem/competence", "code": "decision"}]}, "valueString": "sharing"}
    ],
}


def _landed(database_url: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    engine = engine_for(database_url)
    codec = EventCodec.load()

    def probe() -> dict[str, dict[str, Any]] | None:
        with engine.connect() as conn:
            rows = conn.execute(select(event_store).where(event_store.c.event_id.in_(ids))).all()
        return {r.event_id: codec.decode(r.body) for r in rows} if len(rows) == len(set(ids)) else None

    try:
        return wait_for(probe, 30, "the accepted events in the archive")
    finally:
        engine.dispose()


def test_fhir_consent_competence_labels_and_an_incomplete_safeguarding_basis(
    running_hub: RunningHub, database_url: str
) -> None:
    hub = running_hub
    token = hub.token(user="camhs-epr", org=CAMHS, role="system")
    reply = post(hub, "/intake/fhir", _bundle(CONDITION, CONSENT, COMPETENCE), token, "application/fhir+json")
    assert reply.status_code == 200, reply.text
    landed = _landed(database_url, accepted_ids(reply))
    by_kind = {e["kind"]: e for e in landed.values()}
    assert set(by_kind) == {"assessment.completed", "consent.refused", "competence.assessed"}

    diagnosis = by_kind["assessment.completed"]
    assert diagnosis["sensitivity_labels"] == ["PSY"] and diagnosis["category"] == "mental-health"
    refusal = by_kind["consent.refused"]
    name, payload = refusal["payload"]
    assert name == "onestory.payload.Consent" and refusal["category"] == "consent"
    assert payload["given_by"] == "young-person"
    assert payload["recipient_organisation_types"] == ["school"] and payload["categories"] == ["mental-health"]
    competence = by_kind["competence.assessed"]
    assert competence["category"] == "consent"
    assert competence["payload"][0] == "onestory.payload.Competence"
    assert competence["payload"][1]["outcome"] == "competent"
    assert competence["payload"][1]["framework"] == "gillick"

    incomplete = {
        **CONDITION,
        "id": "dx-2",
        "extension": [
            {"url": BASIS_URL, "extension": [{"url": "code", "valueCode": "safeguarding"}]},
        ],
    }
    refused = post(hub, "/intake/fhir", json.dumps(incomplete).encode(), token, "application/fhir+json")
    assert refused.status_code == 422, refused.text
    path = f"Condition.extension('{BASIS_URL}').extension('decidedBy')"
    assert path in error_paths(refused)
    engine = engine_for(database_url)
    rows = wait_for_deadletters(engine, 1)
    engine.dispose()
    assert any(r.connector == "fhir" and path in r.reason for r in rows), [r.reason for r in rows]


def _hl7(*segments: str) -> bytes:
    return "\r".join(segments).encode()


def test_hl7_con_and_pv1_markers_over_mllp(running_hub: RunningHub, database_url: str) -> None:
    hub = running_hub
    pv1 = ["PV1", "1", "O", "OPD^^^RX1"] + [""] * 6 + ["GUM"] + [""] * 5 + ["V", "", "", "V77"]
    con = ["CON", "1", "SHARE-SCHOOL", "", "CF-9"] + [""] * 6 + ["R", "", "20261122085500", "", "", "Y"]
    raw = _hl7(
        "MSH|^~\\&|PAS|RX1|ONESTORY|HUB|20261122090000||ADT^A04|CON-IT-1|P|2.6",
        "EVN|A04|20261122090000",
        "PID|1||9434765870^^^NHS^NH||Okafor^Amara||20110304|F",
        "|".join(pv1),
        "|".join(con),
    )
    ack = send_message(hub.mllp_host, hub.mllp_port, raw, timeout=30)
    assert ack_code(ack) in ("AA", "CA"), ack
    engine = engine_for(database_url)
    codec = EventCodec.load()

    def probe() -> list[dict[str, Any]] | None:
        with engine.connect() as conn:
            bodies = [r.body for r in conn.execute(select(event_store.c.body)).all()]
        found = [e for e in map(codec.decode, bodies) if e["source"]["record_id"].split("|")[-1].startswith("CON-IT-1")]
        return found if len(found) == 2 else None

    events = {e["kind"]: e for e in wait_for(probe, 30, "the encounter and the consent in the archive")}
    engine.dispose()
    encounter, consent = events["encounter.started"], events["consent.refused"]
    assert (encounter["category"], encounter["sensitivity_labels"]) == ("sexual-health", ["V"])
    assert encounter["sharing_basis"]["reference"] == "direct-care"
    payload = consent["payload"][1]
    assert (payload["consent_id"], payload["given_by"], payload["competent"]) == ("CF-9", "young-person", True)
    assert payload["recipient_organisation_types"] == ["school"]
