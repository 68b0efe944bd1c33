"""One child's story across agencies (issue 6), as canonical events, for projection and end-to-end tests.

School 100001, CAMHS RX4, GP A81001, council 990 and VCSE01 are organisations in the default policy.
"""

from __future__ import annotations

from typing import Any

from tests.support.events import event

SCHOOL, CAMHS, GP, COUNCIL, VCSE = "100001", "RX4", "A81001", "990", "VCSE01"
CONSENT_ID = "C1"


def consent_given(child_id: str | None = None) -> dict[str, Any]:
    return event(
        "consent.given",
        "consent",
        CAMHS,
        "Consent",
        {
            "consent_id": CONSENT_ID,
            "status": "given",
            "given_by": "young-person",
            "competent": True,
            "recipient_organisation_types": ["school", "camhs", "gp-practice", "local-authority", "vcse"],
            "categories": [
                "pastoral-concern",
                "self-referral",
                "referral",
                "assessment",
                "mental-health",
                "thrive",
                "social-care-plan",
                "vcse-support",
                "voice-of-child",
                "appointment",
            ],
            "purposes": ["direct-care"],
            "recorded_by": "camhs-clinician",
        },
        child_id=child_id,
        day=0,
        org_type="camhs",
    )


def withdraw_school(child_id: str | None = None, day: float = 50) -> dict[str, Any]:
    """The young person withdraws consent for the school: a deny scoped to schools, all categories."""
    return event(
        "consent.withdrawn",
        "consent",
        CAMHS,
        "Consent",
        {
            "consent_id": "C2",
            "status": "withdrawn",
            "given_by": "young-person",
            "competent": True,
            "recipient_organisation_types": ["school"],
            "recorded_by": "camhs-clinician",
        },
        child_id=child_id,
        day=day,
        org_type="camhs",
    )


def story(child_id: str | None = None) -> list[dict[str, Any]]:
    c = {"child_id": child_id}
    r1 = {"referral": "R1"}
    return [
        consent_given(child_id),
        event(
            "person.registered",
            "demographics",
            GP,
            "Person",
            {"registered_gp": GP},
            day=0,
            org_type="gp-practice",
            basis=("lawful_basis", "direct-care"),
            **c,
        ),
        event(
            "concern.raised",
            "pastoral-concern",
            SCHOOL,
            "Concern",
            {"concern_id": "P1", "concern_type": "pastoral", "raised_by_role": "school psychology team"},
            day=1,
            org_type="school",
            summary="Pastoral concern: low mood and missed lessons",
            **c,
        ),
        event(
            "self-referral.submitted",
            "self-referral",
            CAMHS,
            "SelfReferral",
            {"receipt": "SR-1", "requester": "young-person", "areas": ["sleep", "worry"], "may_tell": ["school", "gp"]},
            day=2,
            org_type="camhs",
            correlation=r1,
            **c,
        ),
        event(
            "referral.received",
            "referral",
            CAMHS,
            "Referral",
            {"referral_id": "R1", "status": "received"},
            day=3,
            org_type="camhs",
            correlation=r1,
            **c,
        ),
        event(
            "referral.accepted",
            "referral",
            CAMHS,
            "Referral",
            {"referral_id": "R1", "status": "accepted", "to_organisation": CAMHS},
            day=5,
            org_type="camhs",
            correlation=r1,
            **c,
        ),
        event(
            "assessment.completed",
            "assessment",
            CAMHS,
            "Assessment",
            {"assessment_type": "initial CAMHS assessment", "tool": "RCADS", "score": "62"},
            day=12,
            org_type="camhs",
            labels=("PSY",),
            correlation=r1,
            summary="CAMHS assessment completed",
            **c,
        ),
        event(
            "thrive.agreed",
            "thrive",
            CAMHS,
            "Thrive",
            {
                "grouping": "Getting Help",
                "agreed_by": [CAMHS, "young person", "parent"],
                "young_person_view": "I want to sleep better and feel less worried at school",
                "agreed_ending": "Sleeping most nights and back in all lessons for four weeks",
            },
            day=14,
            org_type="camhs",
            correlation=r1,
            summary="THRIVE grouping agreed: Getting Help",
            **c,
        ),
        event(
            "plan.started",
            "social-care-plan",
            COUNCIL,
            "Plan",
            {"plan_id": "CIN-1", "plan_type": "child-in-need", "status": "started", "category_code": "N1"},
            day=20,
            org_type="local-authority",
            correlation={"plan": "CIN-1"},
            summary="Child in need plan started",
            **c,
        ),
        event(
            "vcse.session",
            "vcse-support",
            VCSE,
            "VcseSession",
            {"session_id": "S1", "session_type": "peer support group", "attended": True},
            day=25,
            org_type="vcse",
            correlation=r1,
            summary="Attended peer support group",
            **c,
        ),
        event(
            "voice.recorded",
            "voice-of-child",
            CAMHS,
            "Voice",
            {"voice_id": "V1", "text": "I feel listened to now"},
            day=26,
            org_type="camhs",
            **c,
        ),
        event(
            "plan.ended",
            "mental-health",
            CAMHS,
            "Plan",
            {
                "plan_id": "CAMHS-R1",
                "plan_type": "camhs-care-plan",
                "status": "ended",
                "end_reason": "agreed ending reached",
            },
            day=40,
            org_type="camhs",
            correlation=r1,
            summary="CAMHS support ended as agreed",
            **c,
        ),
    ]
