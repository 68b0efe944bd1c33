"""VCSE happenings → the JSON records connectors/vcse takes: support offered, sessions, the young person's
words and onward referrals, under the organisation's own client id and the young person's consent reference.

The VCSE view of a child is the thinnest (records.py): what the young person told them, often a nickname,
sometimes no date of birth or postcode, never an NHS number or UPN.
"""

from __future__ import annotations

from typing import Any

from hub.synth.events import Happening
from hub.synth.items import Item, local_id, minutes
from hub.synth.organisations import Organisations
from hub.synth.social_care_out import person


def record_for(h: Happening, organisation: Organisations) -> tuple[dict[str, Any], str]:
    assert h.record is not None
    d, what = h.data, h.what
    rec: dict[str, Any] = {"type": what, "id": d["id"] if what != "referral" else f"{d['referral_id']}-out"}
    rec |= {"client_id": local_id(h.record), **person(h.record), "date": h.day.isoformat()}
    if d.get("consent"):
        rec["consent_id"] = d["consent"]
    if what == "support_offered":
        rec |= {"service": d["service"], "support_offered": d["offered"], "next_steps": "weekly sessions"}
        return rec, "vcse.session"
    if what == "session":
        rec |= {"service": d["service"], "attended": d["attended"]}
        return rec, "vcse.session"
    if what == "voice":
        rec |= {"text": d["text"], "medium": d["medium"], "topic": "how the sessions are going"}
        return rec, "voice.recorded"
    if what == "referral":
        to = organisation(d["to"]).code
        rec |= {"referral_id": d["referral_id"], "referred_to": to, "service": "CAMHS", "reason": d["reason"]}
        rec["urgency"] = d["urgency"]
        return rec, "referral.made"
    raise ValueError(f"no VCSE record for {what}")


def render(h: Happening, child: int, seed: int, organisation: Organisations) -> list[Item]:
    assert h.record is not None
    org = organisation(h.record.organisation).code
    body, kind = record_for(h, organisation)
    return [Item("vcse", f"vcse/{org}.json", minutes(h.day, h.minute), body, (kind,), child, org)]
