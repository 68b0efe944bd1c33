"""Jade's story for the viewer's tests: what her agencies send, mapped by the real connectors where the viewer's
detail comes from them (a GP's FHIR ServiceRequest whose reason is only `code.text`, a CAMHS FHIR Condition with
its diagnosis text, a hospital ADT^A01 naming the attending doctor in PV1-7), plus canonical events for the
school, the council and the consent.

Jade (NHS number 999 000 0026, born 2012-03-14) has a child-protection plan and an open safeguarding concern,
an open referral to CAMHS and a diagnosis: what each role sees of them is the policy's business.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connectors.fhir.map import map_request
from connectors.hl7v2.map import Hl7Mapping, map_message
from connectors.hl7v2.parse import parse
from tests.support.events import event

NHS = "9990000026"
BORN = date(2012, 3, 14)
SCHOOL, CAMHS, GP, COUNCIL, HOSPITAL = "100001", "RX4", "A81001", "990", "RX1"
NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
REFERRAL_TEXT = "Referral to CAMHS for low mood"
DIAGNOSIS_TEXT = "Moderate depressive episode"
DOCTOR = "Dr Priya Shah"
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=60)


def _jade(e: dict[str, Any]) -> dict[str, Any]:
    e["subject"] = e["subject"] | {"given_name": "Jade", "family_name": "Bennett", "birth_date": BORN, "sex": "F"}
    return e


def _at(day: float) -> datetime:
    return START + timedelta(days=day)


def _canonical(*args: Any, day: float, **kwargs: Any) -> dict[str, Any]:
    e = _jade(event(*args, nhs=NHS, **kwargs))
    e["occurred_at"], e["recorded_at"] = _at(day), _at(day) + timedelta(minutes=5)
    return e


def _fhir(org: str, resource: dict[str, Any], day: float) -> list[dict[str, Any]]:
    batch = map_request(json.dumps(resource).encode(), org, _at(day))
    assert not batch.errors, batch.issues
    return [_jade(dict(e)) for e in batch.events]


def _hl7(org: str, text: str, day: float) -> list[dict[str, Any]]:
    events = map_message(
        parse(text.encode()), Hl7Mapping.bundled(), _at(day), organisation=org, organisation_type="acute-trust"
    )
    return [_jade(dict(e)) for e in events]


def _pv1(fields: dict[int, str]) -> str:
    """A PV1 segment with the given fields at their numbers (PV1-2 class, PV1-7 attending doctor, PV1-44 admit)."""
    return "|".join(["PV1"] + [fields.get(n, "1" if n == 1 else "") for n in range(1, max(fields) + 1)])


def consent() -> dict[str, Any]:
    return _canonical(
        "consent.given",
        "consent",
        CAMHS,
        "Consent",
        {
            "consent_id": "CJ1",
            "status": "given",
            "given_by": "young-person",
            "competent": True,
            "recipient_organisation_types": ["school", "camhs", "gp-practice", "local-authority", "acute-trust"],
            "categories": [
                "referral",
                "assessment",
                "mental-health",
                "appointment",
                "encounter",
                "social-care-plan",
                "pastoral-concern",
                "attendance",
                "demographics",
                "safeguarding-concern",
            ],
            "purposes": ["direct-care"],
            "recorded_by": "camhs-clinician",
        },
        day=0,
        org_type="camhs",
        basis=("consent", "CJ1"),
        summary="Consent given by the young person",
    )


def viewer_story() -> list[dict[str, Any]]:
    safeguarding = ("lawful_basis", "safeguarding")
    ts = _at(30).strftime("%Y%m%d%H%M")
    events = [
        consent(),
        _canonical(
            "person.registered",
            "demographics",
            GP,
            "Person",
            {"registered_gp": GP},
            day=0,
            org_type="gp-practice",
            basis=("lawful_basis", "direct-care"),
        ),
        *_fhir(
            GP,
            {
                "resourceType": "ServiceRequest",
                "id": "jade-ref-1",
                "status": "active",
                "intent": "order",
                "subject": {"identifier": {"system": NHS_SYSTEM, "value": NHS}},
                "code": {"text": REFERRAL_TEXT},
                "performer": [
                    {"identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": CAMHS}}
                ],
                "authoredOn": _at(5).isoformat(),
            },
            day=5,
        ),
        *_fhir(
            CAMHS,
            {
                "resourceType": "Condition",
                "id": "jade-dx-1",
                "subject": {"identifier": {"system": NHS_SYSTEM, "value": NHS}},
                "code": {
                    "coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "F32.1"}],
                    "text": DIAGNOSIS_TEXT,
                },
                "recordedDate": _at(20).date().isoformat(),
            },
            day=20,
        ),
        *_hl7(
            HOSPITAL,
            "\r".join(
                [
                    f"MSH|^~\\&|NSH-PAS|{HOSPITAL}|ONESTORY|HUB|{ts}||ADT^A01|JADE-A01-1|P|2.4",
                    f"EVN|A01|{ts}",
                    f"PID|1||H123^^^{HOSPITAL}^MR~{NHS}^^^NHS^NH||Bennett^Jade||{BORN:%Y%m%d}|F",
                    _pv1({2: "E", 3: "ED^BAY3", 7: "C123^Shah^Priya^^^Dr", 10: "PAED", 19: "V77", 44: ts}),
                ]
            ),
            day=30,
        ),
        _canonical(
            "concern.raised",
            "pastoral-concern",
            SCHOOL,
            "Concern",
            {"concern_id": "PJ1", "concern_type": "pastoral", "raised_by_role": "form tutor"},
            day=10,
            org_type="school",
            summary="Pastoral concern: withdrawn in lessons",
        ),
        _canonical(
            "concern.raised",
            "safeguarding-concern",
            SCHOOL,
            "Concern",
            {
                "concern_id": "SJ1",
                "concern_type": "safeguarding",
                "concern_category": "neglect",
                "raised_by_role": "designated safeguarding lead",
                "action_taken": "referred to children's services",
            },
            day=35,
            org_type="school",
            basis=safeguarding,
            summary="Safeguarding concern raised by school",
        ),
        _canonical(
            "plan.started",
            "social-care-plan",
            COUNCIL,
            "Plan",
            {"plan_id": "CPJ-1", "plan_type": "child-protection", "status": "started", "category_code": "NEG"},
            day=40,
            org_type="local-authority",
            basis=safeguarding,
            correlation={"plan": "CPJ-1"},
            summary="Child protection plan started",
        ),
    ]
    for e in events:  # the safeguarding decisions were taken and recorded by a named person
        if e["sharing_basis"]["reference"] == "safeguarding":
            e["sharing_basis"] = e["sharing_basis"] | {"decided_by": "team manager J Okoro", "reason": "risk of harm"}
    return events
