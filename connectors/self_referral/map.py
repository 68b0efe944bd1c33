"""A self-referral form → a self-referral.submitted event and the consent it carries. Pure.

The choices on the form ("my GP", "my school"...) become the consent scope: a consent.given event naming the
organisation types that may be told (or consent.refused when nobody may be), and the referral's own sharing
basis points at that consent. "Who should NOT be told" (`do_not_tell`, the same choices, never overlapping)
becomes a consent.refused event by the requester scoped to those organisation types: the young person's own
refusal, respected from the moment it is recorded. The receipt reference is derived from the submission, so a
double submit or a replay gives the same receipt and the same events.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import date, datetime
from typing import Any

from connectors.batch import Batch, Issue
from connectors.canonical import (
    EventSpec,
    Source,
    basis,
    build_event,
    consent_event,
    consent_payload,
    local_id_system,
    make_subject,
    nhs_identifier,
)
from connectors.errors import MappingError
from connectors.tabular import load_json_object
from hub.events.model import Identifier

# The hub runs the page, so the hub is the source organisation (the consent engine knows it; unknown ones fail closed).
ORGANISATION = "ONESTORY"
REQUESTERS = {"young-person": "young-person", "parent": "parental-responsibility"}
# form value -> (plain words shown on the page, organisation type the consent engine knows)
MAY_TELL = {
    "gp": ("My GP (family doctor)", "gp-practice"),
    "school": ("My school or college", "school"),
    "camhs": ("The children and young people's mental health service (CAMHS)", "camhs"),
    "vcse": ("A youth or charity support service", "vcse"),
    "social-care": ("Children's social care", "local-authority"),
}
AREAS = {
    "feeling-low": "Feeling low or sad",
    "worry": "Worry, stress or panic",
    "self-harm": "Hurting myself",
    "eating": "Eating or body image",
    "school": "School or college",
    "home": "Home or family",
    "friends": "Friends or relationships",
    "drugs-alcohol": "Drugs or alcohol",
    "other": "Something else",
}
CONTACT_METHODS = ("phone", "text", "email", "letter")
LIMITS = {"given_name": 100, "family_name": 100, "postcode": 10, "help_wanted": 4000, "contact_value": 200}


def receipt_for(form: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(form, sort_keys=True, default=str).encode()).digest()
    code = base64.b32encode(digest[:5]).decode()
    return f"SR-{code[:4]}-{code[4:8]}"


def _text(form: dict[str, Any], name: str, issues: list[Issue], required: bool = True) -> str | None:
    value = form.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            issues.append(Issue(name, "this is needed"))
        return None
    if not isinstance(value, str):
        issues.append(Issue(name, "must be text"))
        return None
    if len(value) > LIMITS.get(name, 200):
        issues.append(Issue(name, f"is longer than {LIMITS.get(name, 200)} characters"))
        return None
    return value.strip()


def _choices(form: dict[str, Any], name: str, allowed: dict[str, Any], issues: list[Issue]) -> list[str]:
    value = form.get(name) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or any(not isinstance(v, str) or v not in allowed for v in value):
        issues.append(Issue(name, f"choose from: {', '.join(allowed)}"))
        return []
    return sorted(set(value))


def map_form(body: bytes, now: datetime) -> Batch:
    """Validate every field (all problems reported at once, by field name) and build the events."""
    form = load_json_object(body)
    issues: list[Issue] = []
    requester = form.get("requester")
    if not isinstance(requester, str) or requester not in REQUESTERS:
        issues.append(Issue("requester", "say whether you are the young person or a parent or carer"))
    given, family = _text(form, "given_name", issues), _text(form, "family_name", issues)
    birth: date | None = None
    try:
        birth = date.fromisoformat(str(form.get("birth_date") or ""))
        if not date(1990, 1, 1) <= birth <= now.date():
            issues.append(Issue("birth_date", "is not a date of birth we can use"))
    except ValueError:
        issues.append(Issue("birth_date", "enter the date of birth (day, month and year)"))
    postcode = _text(form, "postcode", issues, required=False)
    help_wanted = _text(form, "help_wanted", issues, required=False)
    areas = _choices(form, "areas", AREAS, issues)
    may_tell = _choices(form, "may_tell", MAY_TELL, issues)
    do_not_tell = _choices(form, "do_not_tell", MAY_TELL, issues)
    both = [MAY_TELL[c][0] for c in may_tell if c in do_not_tell]
    if both:
        issues.append(Issue("do_not_tell", f"you chose both to tell and not to tell: {'; '.join(both)}"))
    method = form.get("contact_method")
    if not isinstance(method, str) or method not in CONTACT_METHODS:
        issues.append(Issue("contact_method", f"choose one of: {', '.join(CONTACT_METHODS)}"))
    contact = _text(form, "contact_value", issues, required=method != "letter")
    ids: list[Identifier] = []
    nhs = _text(form, "nhs_number", issues, required=False)
    if nhs:
        ident = nhs_identifier(nhs)
        if not ident["validated"]:
            issues.append(Issue("nhs_number", "this NHS number does not look right: check it or leave it empty"))
        ids.append(ident)
    if issues:
        raise FormInvalid(issues)

    receipt = receipt_for(form)
    ids.insert(0, {"system": local_id_system(ORGANISATION, "receipt"), "value": receipt, "validated": True})
    subject = make_subject(
        ids, given_name=given, family_name=family, birth_date=birth, postcode=(postcode or "").upper() or None
    )
    consent_id = f"{receipt}-consent"
    status = "given" if may_tell else "refused"
    sharing = basis("consent", consent_id) if may_tell else basis("none")
    contact_pref = f"{method}: {contact}" if contact else str(method)
    referral = EventSpec(
        kind="self-referral.submitted",
        category="self-referral",
        record_id=f"self-referral|{receipt}",
        subject=subject,
        occurred_at=now,
        recorded_at=now,
        summary=f"Asked for help directly ({'young person' if requester == 'young-person' else 'parent or carer'})",
        payload_type="SelfReferral",
        payload={
            "receipt": receipt,
            "requester": str(requester),
            "areas": areas,
            "help_wanted": help_wanted,
            "contact_preference": contact_pref,
            "may_tell": may_tell,
        },
        sharing_basis=sharing,
        correlation_ids={"referral": receipt, "consent": consent_id},
    )
    given_by = REQUESTERS[str(requester)]

    def choice(suffix: str, status: str, types: list[str], categories: list[str], summary: str) -> EventSpec:
        """The requester's own consent or refusal, as they chose it on the form."""
        choice_id = f"{receipt}-{suffix}"
        payload = consent_payload(
            choice_id,
            status,
            given_by,
            ORGANISATION,
            organisation_types=[MAY_TELL[m][1] for m in types],
            categories=categories,
            purposes=["direct-care"] if status == "given" else [],
            start=now,
        )
        return consent_event(
            payload,
            record_id=f"self-referral|{receipt}|{suffix}",
            subject=subject,
            occurred_at=now,
            recorded_at=now,
            summary=summary,
            correlation={"referral": receipt},
        )

    specs = [
        referral,
        choice(
            "consent",
            status,
            may_tell,
            ["self-referral", *(["mental-health"] if may_tell else [])],
            "Chose who may be told about the request for help" if may_tell else "Chose that nobody else is told",
        ),
    ]
    if do_not_tell:
        specs.append(
            choice(
                "do-not-tell",
                "refused",
                do_not_tell,
                ["self-referral", "mental-health"],
                "Chose who must not be told about the request for help",
            )
        )
    source = Source("self_referral", "self-referral-page", ORGANISATION, "hub")
    content = json.dumps(form, sort_keys=True, default=str)
    return Batch(events=[build_event(source, spec, content, i) for i, spec in enumerate(specs)])


class FormInvalid(MappingError):
    """Every field problem at once, by field name (the page shows them beside the fields)."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"{len(issues)} field(s) need attention", issues[0].location)
        self.issues = [(i.location, i.reason) for i in issues]
