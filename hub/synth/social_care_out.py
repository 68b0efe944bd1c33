"""Council happenings → children's social care case-management records (the JSON connectors/social_care takes).

The stages follow the Children in Need census: contact, referral (accepted, or no further action with where
the family was redirected), assessment, section 47 enquiry, child in need / child protection plan (started,
reviewed every three months, ended), looked after, closure, and the child's own words. Each record carries
the council's view of the child (records.py): its own child id, and the NHS number and UPN where it holds them.
"""

from __future__ import annotations

from typing import Any

from connectors.identifiers import NHS_NUMBER_SYSTEM, UPN_SYSTEM
from hub.synth.events import Happening
from hub.synth.items import Item, identifier, local_id, minutes
from hub.synth.organisations import Organisations
from hub.synth.records import SourceRecord

PLAN_TYPES = ("cin_plan", "cp_plan", "looked_after")


def person(record: SourceRecord) -> dict[str, Any]:
    """The subject fields of a row-oriented record (social care and VCSE share connectors/people.py)."""
    out: dict[str, Any] = {}
    nhs, upn = identifier(record, NHS_NUMBER_SYSTEM), identifier(record, UPN_SYSTEM)
    if nhs:
        out["nhs_number"] = nhs
    if upn:
        out["upn"] = upn
    for name, value in (
        ("given_name", record.given_name),
        ("family_name", record.family_name),
        ("birth_date", record.birth_date.isoformat() if record.birth_date else None),
        ("sex", record.sex),
        ("postcode", record.postcode),
    ):
        if value:
            out[name] = value
    return out


def record_for(h: Happening) -> tuple[dict[str, Any], str]:
    """The case-management record and the canonical kind the connector makes of it."""
    assert h.record is not None
    d, what = h.data, h.what
    rec: dict[str, Any] = {"type": what, "id": d["id"], "la_child_id": local_id(h.record), **person(h.record)}
    rec["date"] = h.day.isoformat()
    if what == "contact":
        rec |= {"referral_id": d["referral_id"], "from_organisation": d["source"], "reason": "concern-about-welfare"}
        return rec, "referral.received"
    if what == "referral":
        rec["referral_id"] = d["referral_id"]
        if d["outcome"]:
            rec |= {"outcome": d["outcome"], "redirected_to": d["redirected_to"], "decline_reason": "threshold-not-met"}
            return rec, "referral.declined"
        return rec, "referral.accepted"
    if what == "assessment":
        rec |= {"referral_id": d["referral_id"], "outcome": d["outcome"], "factors": d["factors"]}
        return rec, "assessment.completed"
    if what == "s47":
        rec |= {"referral_id": d["referral_id"], "outcome": d["outcome"], "team_manager": "TM-1"}
        rec["reason"] = "reasonable cause to suspect significant harm"  # who decided and why: safeguarding basis
        return rec, "concern.raised"
    if what in PLAN_TYPES:
        rec |= {"status": d["status"], "start_date": d["start"].isoformat()}
        if what == "cin_plan":
            rec["category_of_need"] = d["category"]
        elif what == "cp_plan":
            rec |= {"category_of_abuse": d["category"], "decided_by": "child protection conference chair CC-1"}
            rec["basis_reason"] = "child protection plan agreed at conference"
        else:
            rec |= {"legal_status": d["legal_status"], "placement": d["placement"]}
        if d["status"] == "reviewed":
            rec["review_date"] = d["review"].isoformat()
        if d["status"] == "ended":
            rec["end_date"] = d["end"].isoformat()
        return rec, f"plan.{d['status']}"
    if what == "closure":
        rec["end_reason"] = d["end_reason"]
        return rec, "plan.ended"
    if what == "voice":
        rec |= {"text": d["text"], "medium": d["medium"], "topic": "my plan", "captured_by_role": "social-worker"}
        return rec, "voice.recorded"
    raise ValueError(f"no social care record for {what}")


def render(h: Happening, child: int, seed: int, organisation: Organisations) -> list[Item]:
    assert h.record is not None
    la = organisation(h.record.organisation).code
    body, kind = record_for(h)
    return [Item("social-care", f"social-care/{la}.json", minutes(h.day, h.minute), body, (kind,), child, la)]
