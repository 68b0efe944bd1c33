"""A deterministic, plausible event mix for pipeline benchmarks (intake records, Avro-encoded up front).

Per child, in a year: a GP registration, consent, 30 weekly school attendance summaries, a pastoral concern,
a referral to CAMHS with its journey (received, accepted), two appointments, an assessment, a THRIVE grouping
and VCSE sessions. Attendance dominates, as it does in real school feeds. Deterministic by seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connectors.identifiers import NHS_NUMBER_SYSTEM, is_valid_nhs_number
from hub.events.codec import EventCodec
from hub.events.model import event_id
from hub.events.payloads import payload

T0 = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)
SCHOOL, CAMHS, GP, VCSE = "100001", "RX4", "A81001", "VCSE01"
ORG_TYPES = {SCHOOL: "school", CAMHS: "camhs", GP: "gp-practice", VCSE: "vcse"}


@dataclass(frozen=True)
class IntakeRecord:
    key: bytes
    value: bytes
    event_id: str
    child_index: int


def nhs_numbers(rng: random.Random, n: int) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        candidate = "999" + "".join(str(rng.randrange(10)) for _ in range(7))
        if is_valid_nhs_number(candidate):
            out.add(candidate)
    return sorted(out)


def _event(
    nhs: str,
    org: str,
    kind: str,
    category: str,
    record: str,
    fields: dict[str, Any],
    at: datetime,
    n: int,
    basis: tuple[str, str | None] = ("consent", "C-bench"),
    correlation: dict[str, str] | None = None,
) -> dict[str, Any]:
    key = f"bench|{org}|{nhs}|{kind}|{n}"
    return {
        "event_id": event_id("bench", key, f"{at.isoformat()}|{sorted(fields.items())}"),
        "kind": kind,
        "category": category,
        "child_id": None,
        "source": {"system": "bench", "organisation": org, "organisation_type": ORG_TYPES[org], "record_id": key},
        "occurred_at": at,
        "recorded_at": at + timedelta(minutes=3),
        "subject": {
            "identifiers": [{"system": NHS_NUMBER_SYSTEM, "value": nhs, "validated": True}],
            "given_name": None,
            "family_name": None,
            "birth_date": None,
            "sex": None,
            "postcode": None,
        },
        "sensitivity_labels": [],
        "sharing_basis": {"kind": basis[0], "reference": basis[1], "decided_by": None, "reason": None},
        "correlation_ids": correlation or {},
        "summary": kind.replace(".", " "),
        "payload": payload(record, **fields),
    }


def child_events(nhs: str, rng: random.Random, per_child: int) -> list[dict[str, Any]]:
    """About `per_child` events for one child: the fixed journey, then weekly attendance to fill."""
    ref = {"referral": f"R-{nhs}"}
    start = T0 + timedelta(days=rng.randrange(30))
    journey: list[tuple[Any, ...]] = [
        (
            GP,
            "person.registered",
            "demographics",
            "Person",
            {"registered_gp": GP},
            0,
            ("lawful_basis", "direct-care"),
            None,
        ),
        (
            CAMHS,
            "consent.given",
            "consent",
            "Consent",
            {
                "consent_id": f"C-{nhs}",
                "status": "given",
                "given_by": "young-person",
                "competent": True,
                "recipient_organisation_types": ["school", "camhs", "gp-practice", "vcse"],
                "categories": [
                    "attendance",
                    "pastoral-concern",
                    "referral",
                    "assessment",
                    "thrive",
                    "vcse-support",
                    "appointment",
                ],
                "purposes": ["direct-care"],
                "recorded_by": "camhs-clinician",
            },
            1,
            ("consent", None),
            None,
        ),
        (
            SCHOOL,
            "concern.raised",
            "pastoral-concern",
            "Concern",
            {"concern_id": f"P-{nhs}", "concern_type": "pastoral"},
            20,
            ("consent", None),
            None,
        ),
        (
            SCHOOL,
            "referral.made",
            "referral",
            "Referral",
            {"referral_id": f"R-{nhs}", "status": "made", "to_organisation": CAMHS},
            22,
            ("consent", None),
            ref,
        ),
        (
            CAMHS,
            "referral.accepted",
            "referral",
            "Referral",
            {"referral_id": f"R-{nhs}", "status": "accepted"},
            30,
            ("consent", None),
            ref,
        ),
        (
            CAMHS,
            "appointment.attended",
            "appointment",
            "Appointment",
            {"status": "attended"},
            45,
            ("consent", None),
            ref,
        ),
        (
            CAMHS,
            "assessment.completed",
            "assessment",
            "Assessment",
            {"assessment_type": "RCADS"},
            45,
            ("consent", None),
            ref,
        ),
        (CAMHS, "thrive.agreed", "thrive", "Thrive", {"grouping": "Getting Help"}, 50, ("consent", None), ref),
        (
            VCSE,
            "vcse.session",
            "vcse-support",
            "VcseSession",
            {"session_id": f"S-{nhs}", "session_type": "group"},
            60,
            ("consent", None),
            ref,
        ),
    ]
    events = [
        _event(nhs, org, kind, cat, rec, fields, start + timedelta(days=day), i, basis, corr)
        for i, (org, kind, cat, rec, fields, day, basis, corr) in enumerate(journey)
    ]
    week = 0
    while len(events) < per_child:
        possible = 10
        present = possible - rng.choice([0, 0, 0, 1, 1, 2, 3])
        monday = start + timedelta(weeks=week)
        events.append(
            _event(
                nhs,
                SCHOOL,
                "attendance.summary",
                "attendance",
                "AttendanceSummary",
                {
                    "week_start": date(monday.year, monday.month, monday.day),
                    "possible_sessions": possible,
                    "present_sessions": present,
                    "authorised_absence_sessions": possible - present,
                    "unauthorised_absence_sessions": 0,
                    "attendance_rate": present / possible,
                    "persistent_absence": present / possible < 0.9,
                },
                monday,
                100 + week,
                ("consent", None),
            )
        )
        week += 1
    return events[:per_child]


def intake_records(codec: EventCodec, children: int, per_child: int, seed: int) -> Iterator[IntakeRecord]:
    """Events interleaved across children (as real feeds arrive), encoded for onestory.intake.v1."""
    rng = random.Random(seed)
    numbers = nhs_numbers(rng, children)
    per = [child_events(nhs, rng, per_child) for nhs in numbers]
    for i in range(per_child):
        for c, events in enumerate(per):
            if i < len(events):
                e = events[i]
                yield IntakeRecord(e["source"]["record_id"].encode(), codec.encode(e), e["event_id"], c)
