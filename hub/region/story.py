"""Four children's stories as their agencies send them: the bytes each system puts on the wire, nothing more.

These are the demo's richest children and the scenario suite's input. Everything here is what a sender can
say through a real interface (HL7 v2 over MLLP, FHIR over HTTP, school MIS CSV, council and VCSE JSON, the
self-referral form); nothing is a canonical event or a consent record, so a test that sends these proves the
interfaces carry consent, competence and lawful bases, not that the engine works on objects built for it.

- Amara (14): GP, CAMHS, a sexual-health clinic, school nursing, her school, the council and a VCSE service, and
  her own self-referral saying "do not tell my school". She is assessed competent; her refusal beats her
  mother's consent; a safeguarding concern reaches the social worker acting for safeguarding.
- Ben (16): presumed competent; his own consent (recorded by his school) and refusal (on the self-referral
  form) count without any assessment.
- Chloe (13): refers herself before anyone has assessed her competence; her consent to the GP counts only once
  CAMHS records that she is competent (`chloe_assessed` is sent later by the scenario).
- Daniel (12): refuses sharing with his school, his father consents; the refusal holds until CAMHS records that
  he was not competent to make that decision (`daniel_assessed`).

Dates are relative to `today`, so ages (and the 16-year presumption) hold whenever this runs. Identifiers are
synthetic: NHS numbers in the 999 test range, UPNs with valid check letters, organisation codes from the bundled
directory.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from hub.synth.identifiers import nhs_number, upn

HUB = "https://onestory.nhs.example"
NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
ORG_TYPE = f"{HUB}/CodeSystem/organisation-type"
CATEGORY = f"{HUB}/CodeSystem/category"
COMPETENCE = f"{HUB}/CodeSystem/competence"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"

GP_AMARA, GP_BEN, GP_CHLOE, GP_DANIEL = "A81001", "A81002", "A81003", "A81004"
CAMHS, SEXUAL_HEALTH, SCHOOL_NURSING = "RX4", "RY7X1", "RY7"
SEXUAL_HEALTH_FACILITY = "CEDAR-CLINIC"
SCHOOL_AMARA, SCHOOL_BEN, SCHOOL_CHLOE, SCHOOL_DANIEL = "100001", "100003", "100004", "100002"
COUNCIL, VCSE = "990", "VCSE01"


@dataclass(frozen=True)
class Child:
    key: str
    given: str
    family: str
    birth_date: date
    sex: str  # FHIR gender
    nhs: str
    upn: str
    postcode: str

    @property
    def hl7_sex(self) -> str:
        return {"female": "F", "male": "M"}.get(self.sex, "U")


@dataclass(frozen=True)
class Delivery:
    """One request as its sender makes it: `channel` is mllp, fhir, education, social-care, vcse or self-referral."""

    channel: str
    org: str
    body: bytes
    label: str
    record_type: str | None = None  # education CSV record type
    tag: str | None = None  # a short name for what it is, where the organisation alone is ambiguous

    @property
    def content_type(self) -> str:
        return {"fhir": "application/fhir+json", "education": "text/csv", "mllp": "x-application/hl7-v2+er7"}.get(
            self.channel, "application/json"
        )


def _born(today: date, years: int, days: int) -> date:
    return date(today.year - years, today.month, min(today.day, 28)) - timedelta(days=days)


def children(today: date) -> dict[str, Child]:
    """The four children, the same identifiers every time (seeded), ages relative to `today`."""
    rng = random.Random(15)
    people = [
        ("amara", "Amara", "Okafor", 14, 100, "female", "NS1 4AB"),
        ("ben", "Ben", "Hartley", 16, 60, "male", "NS2 7CD"),
        ("chloe", "Chloe", "Nowak", 13, 30, "female", "NS3 1EF"),
        ("daniel", "Daniel", "Reid", 12, 90, "male", "NS1 9GH"),
    ]
    return {
        key: Child(key, given, family, _born(today, years, days), sex, nhs_number(rng), upn(rng, COUNCIL), post)
        for key, given, family, years, days, sex, post in people
    }


# --- how each format says things -------------------------------------------------------------------------------


def _at(today: date, days_ago: int, hour: int = 10) -> datetime:
    """A moment of the story. Nothing is dated `today` itself: at 07:00 UTC a consent or assessment dated
    today at 09:00 would still lie in the future, and the policy rightly ignores it until then."""
    if days_ago < 1:
        raise ValueError("story events are dated at least a day back, so none lies in the future")
    return datetime.combine(today - timedelta(days=days_ago), time(hour, 0))


def _iso(today: date, days_ago: int, hour: int = 10) -> str:
    return _at(today, days_ago, hour).isoformat() + "Z"


def _nhs(child: Child) -> dict[str, str]:
    return {"system": NHS_SYSTEM, "value": child.nhs}


def _bundle(*resources: dict[str, Any]) -> bytes:
    entries = [{"fullUrl": f"urn:uuid:{r['resourceType'].lower()}-{r['id']}", "resource": r} for r in resources]
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}, sort_keys=True).encode()


def _patient(child: Child, local_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": local_id,
        "identifier": [_nhs(child)],
        "name": [{"family": child.family, "given": [child.given]}],
        "gender": child.sex,
        "birthDate": child.birth_date.isoformat(),
        "address": [{"postalCode": child.postcode}],
    }


def _referral(child: Child, rid: str, to: str, text: str, when: str, reason: tuple[str, str] | None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "subject": {"identifier": _nhs(child)},
        "code": {"text": text},
        "performer": [{"identifier": {"system": ODS, "value": to}}],
        "authoredOn": when,
    }
    if reason:
        resource["reasonCode"] = [{"coding": [{"system": reason[0], "code": reason[1]}]}]
    return resource


def _competence(
    child: Child, oid: str, outcome: str, when: str, practitioner: str, categories: tuple[str, ...] = ()
) -> dict[str, Any]:
    components = [
        {"code": {"coding": [{"system": COMPETENCE, "code": "decision"}]}, "valueString": "information-sharing"},
        {"code": {"coding": [{"system": COMPETENCE, "code": "framework"}]}, "valueString": "gillick"},
    ]
    components += [
        {"code": {"coding": [{"system": COMPETENCE, "code": "category"}]}, "valueString": c} for c in categories
    ]
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": COMPETENCE, "code": "assessment"}]},
        "subject": {"identifier": _nhs(child)},
        "effectiveDateTime": when,
        "performer": [{"reference": f"Practitioner/{practitioner}"}],
        "valueCodeableConcept": {"coding": [{"system": COMPETENCE, "code": outcome}]},
        "component": components,
    }


def _consent(
    child: Child,
    cid: str,
    when: str,
    *,
    deny: bool = False,
    status: str = "active",
    by_parent: bool = False,
    to_types: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    purposes: tuple[str, ...] = ("TREAT",),
) -> dict[str, Any]:
    """A FHIR Consent as a CAMHS or GP system records it: who gave it (Patient or a RelatedPerson with
    parental responsibility), to whom (organisation types as actors), which categories, for which purpose."""
    provision: dict[str, Any] = {
        "type": "deny" if deny else "permit",
        "actor": [
            {"role": {"coding": [{"system": ORG_TYPE, "code": t}]}, "reference": {"display": t}} for t in to_types
        ],
    }
    if categories:
        provision["class"] = [{"system": CATEGORY, "code": c} for c in categories]
    if purposes and not deny:
        provision["purpose"] = [{"system": ACT_REASON, "code": p} for p in purposes]
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": cid,
        "status": status,
        "scope": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"identifier": _nhs(child)},
        "dateTime": when,
        "provision": provision,
    }
    if by_parent:
        resource["contained"] = [
            {
                "resourceType": "RelatedPerson",
                "id": "parent",
                "patient": {"identifier": _nhs(child)},
                "relationship": [
                    {"coding": [{"system": ROLE_CODE, "code": "MTH" if child.sex == "female" else "FTH"}]}
                ],
            }
        ]
        resource["performer"] = [{"reference": "#parent"}]
    else:
        resource["performer"] = [{"reference": f"Patient/{child.key}"}]
    return resource


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _pupils(child: Child, admitted: date) -> list[str]:
    return [
        child.upn,
        child.nhs,
        child.given,
        child.family,
        child.birth_date.isoformat(),
        child.hl7_sex,
        admitted.isoformat(),
    ]


PUPIL_HEADER = ["UPN", "NHS Number", "Forename", "Surname", "DOB", "Gender", "Admission Date"]


def _form(
    child: Child, may_tell: list[str], do_not_tell: list[str], words: str, requester: str = "young-person"
) -> bytes:
    form = {
        "requester": requester,
        "given_name": child.given,
        "family_name": child.family,
        "birth_date": child.birth_date.isoformat(),
        "postcode": child.postcode,
        "nhs_number": child.nhs,
        "areas": ["feeling-low", "school"],
        "help_wanted": words,
        "may_tell": may_tell,
        "do_not_tell": do_not_tell,
        "contact_method": "text",
        "contact_value": "07700 900123",
    }
    return json.dumps(form, sort_keys=True).encode()


def _hl7(*segments: str) -> bytes:
    return "\r".join(segments).encode()


# --- the stories ------------------------------------------------------------------------------------------------

AMARA_WORDS = (
    "I have felt really low since the summer and I can't sleep. I want to talk to someone. "
    "Please do NOT tell my school."
)

# Whom Amara's consent (recorded by CAMHS) lets be told, and about what; her withdrawal names the same consent.
AMARA_TELLS = ("gp-practice", "camhs", "community-health", "local-authority", "vcse")
AMARA_SHARES = (
    "self-referral",
    "pastoral-concern",
    "attendance",
    "vcse-support",
    "mental-health",
    "assessment",
    "referral",
    "voice-of-child",
)


def amara(today: date, c: Child) -> list[Delivery]:
    d = today
    ts = _at(d, 60).strftime("%Y%m%d%H%M%S")
    born = c.birth_date.strftime("%Y%m%d")
    return [
        Delivery(
            "fhir",
            GP_AMARA,
            _bundle(
                _patient(c, "gp-amara"),
                _referral(c, "gp-ref-amara", CAMHS, "Referral to CAMHS for low mood", _iso(d, 120), None),
            ),
            "GP: registration and referral to CAMHS for low mood",
        ),
        Delivery(
            "education",
            SCHOOL_AMARA,
            _csv(PUPIL_HEADER, [_pupils(c, d - timedelta(days=700))]),
            "school: pupil on roll",
            "pupils",
        ),
        Delivery(
            "self-referral", "ONESTORY", _form(c, ["gp", "camhs"], ["school"], AMARA_WORDS), "Amara's own self-referral"
        ),
        Delivery(
            "education",
            SCHOOL_AMARA,
            _csv(
                ["UPN", "Concern Id", "Type", "Raised Date", "Category", "Severity", "Raised By Role", "Action Taken"],
                [
                    [
                        c.upn,
                        "PC-AM-1",
                        "pastoral",
                        (d - timedelta(days=90)).isoformat(),
                        "low mood",
                        "medium",
                        "form tutor",
                        "check-ins with the pastoral lead",
                    ]
                ],
            ),
            "school: pastoral concern",
            "concerns",
            "pastoral",
        ),
        Delivery(
            "education",
            SCHOOL_AMARA,
            _csv(
                ["UPN", "Week Start", "Marks"],
                [
                    [
                        c.upn,
                        (d - timedelta(days=85 + 7 * w - (d - timedelta(days=85 + 7 * w)).weekday())).isoformat(),
                        marks,
                    ]
                    for w, marks in enumerate(["/\\/\\OO/\\/\\", "/\\OOOO/\\/\\", "/\\/\\/\\/\\II"])
                ],
            ),
            "school: weekly attendance",
            "attendance",
        ),
        Delivery(
            "fhir",
            CAMHS,
            _bundle(
                _patient(c, "camhs-amara"),
                _competence(c, "gillick-amara", "competent", _iso(d, 75), "camhs-dr-shah"),
                _consent(
                    c,
                    "consent-amara-health",
                    _iso(d, 75),
                    to_types=AMARA_TELLS,
                    categories=AMARA_SHARES,
                ),
                _consent(c, "consent-amara-no-school", _iso(d, 75), deny=True, to_types=("school",)),
                {
                    "resourceType": "Condition",
                    "id": "dx-amara",
                    "subject": {"identifier": _nhs(c)},
                    "code": {
                        "coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "F32.1"}],
                        "text": "Moderate depressive episode",
                    },
                    "recordedDate": (d - timedelta(days=70)).isoformat(),
                },
            ),
            "CAMHS: Gillick assessment (competent), her consent for health and support services, her refusal for "
            "school, diagnosis F32.1",
        ),
        Delivery(
            "fhir",
            GP_AMARA,
            _bundle(
                _consent(
                    c,
                    "consent-amara-mother",
                    _iso(d, 74),
                    by_parent=True,
                    to_types=("school",),
                    categories=("mental-health", "self-referral", "referral", "assessment"),
                )
            ),
            "GP records her mother's consent to tell the school",
        ),
        Delivery(
            "mllp",
            SEXUAL_HEALTH,
            _hl7(
                f"MSH|^~\\&|CEDAR-PAS|{SEXUAL_HEALTH_FACILITY}|ONESTORY|HUB|{ts}||ADT^A04|SH-AMARA-1|P|2.4",
                f"EVN|A04|{ts}",
                f"PID|1||SH77^^^{SEXUAL_HEALTH_FACILITY}^MR~{c.nhs}^^^NHS^NH||{c.family}^{c.given}||{born}|{c.hl7_sex}",
                "PV1|1|O|CEDAR^CLINIC1|||||||GUM||||||||SHV1|||||||||||||||||||||||||" + ts,
            ),
            "sexual-health clinic: attendance (HL7 ADT^A04, service GUM)",
        ),
        Delivery(
            "fhir",
            SCHOOL_NURSING,
            _bundle(
                {
                    "resourceType": "Encounter",
                    "id": "sn-amara-1",
                    "status": "finished",
                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                    "subject": {"identifier": _nhs(c)},
                    "period": {"start": _iso(d, 55), "end": _iso(d, 55, 11)},
                }
            ),
            "school nursing: drop-in appointment",
        ),
        Delivery(
            "education",
            SCHOOL_AMARA,
            _csv(
                ["UPN", "Concern Id", "Type", "Raised Date", "Category", "Raised By Role", "Decided By", "Reason"],
                [
                    [
                        c.upn,
                        "SG-AM-1",
                        "safeguarding",
                        (d - timedelta(days=50)).isoformat(),
                        "risk at home",
                        "designated safeguarding lead",
                        "J Patel, designated safeguarding lead",
                        "Disclosure suggesting risk of significant harm at home; "
                        "consent not sought as it could increase the risk",
                    ]
                ],
            ),
            "school: safeguarding concern, shared without consent (who decided and why recorded)",
            "concerns",
            "safeguarding",
        ),
        Delivery(
            "social-care",
            COUNCIL,
            json.dumps(
                {
                    "la_code": COUNCIL,
                    "records": [
                        {
                            "type": "cin_plan",
                            "id": "CIN-AM-1",
                            "la_child_id": "LA-4471",
                            "nhs_number": c.nhs,
                            "upn": c.upn,
                            "date": (d - timedelta(days=45)).isoformat(),
                            "category_of_need": "N1",
                            "social_worker": "R Ahmed",
                        },
                        {
                            "type": "voice",
                            "id": "V-AM-1",
                            "la_child_id": "LA-4471",
                            "nhs_number": c.nhs,
                            "date": (d - timedelta(days=44)).isoformat(),
                            "topic": "what would help",
                            "text": "I want things at home to be calmer and to feel less tired at school.",
                        },
                    ],
                }
            ).encode(),
            "council: child in need plan (public task) and Amara's own words",
        ),
        Delivery(
            "vcse",
            VCSE,
            json.dumps(
                {
                    "organisation": VCSE,
                    "records": [
                        {
                            "type": "session",
                            "id": f"VS-AM-{n}",
                            "client_id": "CL-208",
                            "nhs_number": c.nhs,
                            "date": (d - timedelta(days=40 - 7 * n)).isoformat(),
                            "service": "young people's counselling",
                            "attended": "true",
                            "consent_id": "consent-amara-health",
                        }
                        for n in range(3)
                    ],
                }
            ).encode(),
            "VCSE counselling: three sessions under her consent",
        ),
    ]


def amara_withdraws(today: date, c: Child) -> Delivery:
    """CAMHS records that Amara withdrew the consent she gave (status inactive, same id): it ends at once."""
    consent = _consent(
        c,
        "consent-amara-health",
        _iso(today, 1, 9),
        status="inactive",
        to_types=AMARA_TELLS,
        categories=AMARA_SHARES,
    )
    return Delivery("fhir", CAMHS, _bundle(consent), "CAMHS: Amara withdraws her consent")


def incomplete_safeguarding(today: date, c: Child) -> Delivery:
    """A safeguarding concern with who decided but not why: refused at intake, kept in the dead-letter store."""
    return Delivery(
        "education",
        SCHOOL_AMARA,
        _csv(
            ["UPN", "Concern Id", "Type", "Raised Date", "Decided By", "Reason"],
            [[c.upn, "SG-AM-2", "safeguarding", (today - timedelta(days=20)).isoformat(), "J Patel", ""]],
        ),
        "school: safeguarding concern without a reason (refused)",
        "concerns",
    )


def ben(today: date, c: Child) -> list[Delivery]:
    d = today
    return [
        Delivery("fhir", GP_BEN, _bundle(_patient(c, "gp-ben")), "GP: registration"),
        Delivery(
            "education",
            SCHOOL_BEN,
            _csv(PUPIL_HEADER, [_pupils(c, d - timedelta(days=1500))]),
            "school: pupil on roll",
            "pupils",
        ),
        Delivery(
            "education",
            SCHOOL_BEN,
            _csv(
                ["UPN", "Concern Id", "Type", "Raised Date", "Category"],
                [[c.upn, "PC-BEN-1", "pastoral", (d - timedelta(days=30)).isoformat(), "withdrawn in lessons"]],
            ),
            "school: pastoral concern",
            "concerns",
        ),
        Delivery(
            "education",
            SCHOOL_BEN,
            _csv(
                ["UPN", "Consent ID", "Status", "Given By", "Recipient Types", "Categories", "Purposes", "Recorded On"],
                [
                    [
                        c.upn,
                        "SC-BEN-1",
                        "given",
                        "young-person",
                        "gp-practice",
                        "pastoral-concern",
                        "direct-care",
                        (d - timedelta(days=29)).isoformat(),
                    ]
                ],
            ),
            "school: Ben's own consent to tell his GP about the pastoral concern",
            "consents",
        ),
        Delivery(
            "self-referral",
            "ONESTORY",
            _form(c, ["gp"], ["school"], "Exams are getting on top of me."),
            "Ben's own self-referral",
        ),
        Delivery(
            "fhir",
            GP_BEN,
            _bundle(
                _consent(
                    c,
                    "consent-ben-father",
                    _iso(d, 10),
                    by_parent=True,
                    to_types=("school",),
                    categories=("self-referral", "mental-health"),
                )
            ),
            "GP records his father's consent to tell the school",
        ),
    ]


def chloe(today: date, c: Child) -> list[Delivery]:
    d = today
    return [
        Delivery("fhir", GP_CHLOE, _bundle(_patient(c, "gp-chloe")), "GP: registration"),
        Delivery(
            "self-referral",
            "ONESTORY",
            _form(c, ["camhs", "gp"], [], "I keep having panic attacks at school."),
            "Chloe's own self-referral",
        ),
        Delivery("fhir", CAMHS, _bundle(_patient(c, "camhs-chloe")), "CAMHS: registration after the self-referral"),
        Delivery(
            "vcse",
            VCSE,
            json.dumps(
                {
                    "organisation": VCSE,
                    "records": [
                        {
                            "type": "session",
                            "id": "VS-CH-1",
                            "client_id": "CL-311",
                            "nhs_number": c.nhs,
                            "date": (d - timedelta(days=12)).isoformat(),
                            "service": "drop-in",
                            "attended": "true",
                            "consent_id": "VC-CH-1",
                        }
                    ],
                    "consents": [
                        {
                            "consent_id": "VC-CH-1",
                            "client_id": "CL-311",
                            "nhs_number": c.nhs,
                            "status": "given",
                            "given_by": "young-person",
                            "recipient_types": "gp-practice;camhs",
                            "categories": "vcse-support",
                            "purposes": "direct-care",
                            "recorded_on": (d - timedelta(days=12)).isoformat(),
                        }
                    ],
                }
            ).encode(),
            "VCSE: a drop-in session and Chloe's consent to tell her GP and CAMHS",
        ),
    ]


def chloe_assessed(today: date, c: Child) -> Delivery:
    return Delivery(
        "fhir",
        CAMHS,
        _bundle(_competence(c, "gillick-chloe", "competent", _iso(today, 1, 8), "camhs-dr-shah")),
        "CAMHS: Gillick assessment of Chloe (competent)",
    )


def daniel(today: date, c: Child) -> list[Delivery]:
    d = today
    return [
        Delivery(
            "fhir",
            GP_DANIEL,
            _bundle(
                _patient(c, "gp-daniel"),
                _referral(c, "gp-ref-daniel", CAMHS, "Referral to CAMHS: anxiety", _iso(d, 20), None),
            ),
            "GP: registration and referral",
        ),
        Delivery(
            "education",
            SCHOOL_DANIEL,
            _csv(PUPIL_HEADER, [_pupils(c, d - timedelta(days=900))]),
            "school: pupil on roll",
            "pupils",
        ),
        Delivery(
            "fhir",
            GP_DANIEL,
            _bundle(
                _consent(c, "consent-daniel-no-school", _iso(d, 15), deny=True, to_types=("school",)),
                _consent(
                    c,
                    "consent-daniel-father",
                    _iso(d, 14),
                    by_parent=True,
                    to_types=("school",),
                    categories=("referral",),
                ),
            ),
            "GP records Daniel's refusal to tell his school and his father's consent",
        ),
    ]


def daniel_assessed(today: date, c: Child) -> Delivery:
    return Delivery(
        "fhir",
        CAMHS,
        _bundle(
            _patient(c, "camhs-daniel"),
            _competence(c, "gillick-daniel", "not-competent", _iso(today, 1, 8), "camhs-dr-shah"),
        ),
        "CAMHS: Gillick assessment of Daniel (not competent for this decision)",
    )


def stories(today: date) -> list[Delivery]:
    """Everything the demo sends, in sending order (the later assessments included)."""
    kids = children(today)
    return [
        *amara(today, kids["amara"]),
        *ben(today, kids["ben"]),
        *chloe(today, kids["chloe"]),
        chloe_assessed(today, kids["chloe"]),
        *daniel(today, kids["daniel"]),
        daniel_assessed(today, kids["daniel"]),
    ]
