"""Care as it is organised: referrals (ServiceRequest), plans (CarePlan), episodes and the team around the child.

EpisodeOfCare and CareTeam come from the episodes and team projections, already filtered by the read side
(`hub.read.story.summary`): an episode only if the viewer may see one of its referral's entries at summary
level, a team member only if the viewer may see something from that organisation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from consent_engine.compiled import Organisation
from hub.fhir.meta import HUB_SOURCE, Served, meta_for, narrative, organisation_ref, patient_ref

_REFERRAL_STATUS = {
    "received": "active",
    "accepted": "active",
    "seen": "active",
    "declined": "revoked",
    "redirected": "revoked",
    "ended": "completed",
    "completed": "completed",
    "closed": "completed",
    "sent": "active",
    "cancelled": "revoked",
}
_PLAN_STATUS = {
    "started": "active",
    "active": "active",
    "reviewed": "active",
    "ended": "completed",
    "closed": "completed",
    "cancelled": "revoked",
    "draft": "draft",
}
_EPISODE_STATUS = {
    "referred": "waitlist",
    "received": "waitlist",
    "accepted": "waitlist",
    "seen": "active",
    "active": "active",
    "ended": "finished",
    "declined": "cancelled",
    "redirected": "cancelled",
}


def referral(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    status = _REFERRAL_STATUS.get(str((detail or {}).get("status") or "").lower(), "active")
    out: dict[str, Any] = {
        "status": status if detail is not None else "unknown",
        "intent": "order",
        "authoredOn": item.row["occurred_at"].isoformat(),
    }
    if detail is not None:
        ref = detail.get("referral_id") or (item.row["correlation_ids"] or {}).get("referral")
        if ref:
            out["identifier"] = [{"system": f"urn:onestory:referral:{item.row['source_org']}", "value": str(ref)}]
        if detail.get("to_organisation"):
            out["performer"] = [organisation_ref(str(detail["to_organisation"]), item.organisations)]
        if detail.get("to_service"):
            out["performerType"] = {"text": str(detail["to_service"])}
        if detail.get("reason"):
            out["reasonCode"] = [{"text": str(detail["reason"])}]
        if detail.get("urgency") in ("routine", "urgent", "asap", "stat"):
            out["priority"] = detail["urgency"]
    return out


def self_referral(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    """The young person asked for help themselves: a proposal, requested by the patient."""
    out: dict[str, Any] = {"status": "active", "intent": "proposal", "authoredOn": item.row["occurred_at"].isoformat()}
    if detail is not None:
        out["requester"] = {"reference": f"Patient/{item.row['child_id']}"}
        if detail.get("areas"):
            out["reasonCode"] = [{"text": str(a)} for a in detail["areas"]]
        if detail.get("help_wanted"):
            out["note"] = [{"text": str(detail["help_wanted"])}]
        out["performer"] = [item.org_ref()]
    return out


def plan(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    status = _PLAN_STATUS.get(str((detail or {}).get("status") or "").lower(), "active")
    out: dict[str, Any] = {
        "status": status if detail is not None else "unknown",
        "intent": "plan",
        "created": item.row["occurred_at"].isoformat(),
    }
    if detail is not None:
        out["author"] = item.org_ref()
        if detail.get("plan_type"):
            out["title"] = str(detail["plan_type"]).replace("-", " ")
        if detail.get("plan_id"):
            out["identifier"] = [
                {"system": f"urn:onestory:plan:{item.row['source_org']}", "value": str(detail["plan_id"])}
            ]
        notes = [
            f"{k.replace('_', ' ')}: {detail[k]}"
            for k in ("category_code", "legal_status", "placement", "review_date", "end_reason")
            if detail.get(k)
        ]
        if notes:
            out["note"] = [{"text": n} for n in notes]
    return out


_REGISTERED_WITH = {"school": "On the school roll", "gp-practice": "Registered with the practice"}


def registration(item: Served, detail: dict[str, Any] | None) -> dict[str, Any]:
    """A registration (on a school's roll, with a GP practice) as an EpisodeOfCare, not an Observation.

    Nothing was observed: the child entered a care or education relationship with an organisation, for a
    period, under which contacts happen. That is what R4 and UK Core EpisodeOfCare model (GP Connect carries a
    practice registration the same way); the organisation is its managing organisation, admission its start.
    """
    out: dict[str, Any] = {"status": "active"}
    if detail is not None:
        org = item.organisations.get(item.row["source_org"])
        words = _REGISTERED_WITH.get(org.type if org else "", "Registered")
        out["type"] = [{"text": words}]
        out["managingOrganization"] = item.org_ref()
        out["period"] = {"start": item.row["occurred_at"].isoformat()}
    return out


def episode_id(child_id: str, episode_key: str) -> str:
    return "ep-" + hashlib.sha256(f"{child_id}|{episode_key}".encode()).hexdigest()[:40]


def _name(code: str, organisations: Mapping[str, Organisation]) -> str:
    org = organisations.get(code)
    return org.name if org else code


def episode_of_care(
    child_id: str, episode: dict[str, Any], organisations: Mapping[str, Organisation]
) -> dict[str, Any]:
    """An episode (referral → accepted → seen → agreed ending) from the episodes projection."""
    org = episode.get("referred_to") or episode.get("referred_by") or "unknown"
    start = episode.get("received_at") or episode.get("referred_at")
    lines = [f"Episode with {_name(org, organisations)}: {episode['status']}"]
    if episode.get("waiting_days") is not None:
        lines.append(f"Waiting {episode['waiting_days']} days")
    if episode.get("ending_criteria"):
        lines.append(f"Agreed ending: {episode['ending_criteria']}")
    out: dict[str, Any] = {
        "resourceType": "EpisodeOfCare",
        "id": episode_id(child_id, episode["episode_id"]),
        "meta": meta_for([], "summary", org, "onestory-episodes", None) | {"source": HUB_SOURCE},
        "text": narrative(*lines),
        "status": _EPISODE_STATUS.get(str(episode["status"]), "active"),
        "patient": patient_ref(child_id),
        "managingOrganization": organisation_ref(org, organisations),
    }
    if start:
        out["period"] = {"start": start} | ({"end": episode["ended_at"]} if episode.get("ended_at") else {})
    if episode.get("referral_ref"):
        out["identifier"] = [{"system": "urn:onestory:referral", "value": str(episode["referral_ref"])}]
    return out


def care_team(
    child_id: str, team: list[dict[str, Any]], organisations: Mapping[str, Organisation]
) -> dict[str, Any] | None:
    """Who is involved now, with how to reach them; None when the viewer may see no one."""
    if not team:
        return None
    participants = []
    for m in team:
        who = m.get("worker") or _name(m["organisation"], organisations)
        member: dict[str, Any] = {"display": str(who)}
        if m.get("contact"):
            member["display"] = f"{who} ({m['contact']})"
        participant: dict[str, Any] = {
            "member": member,
            "onBehalfOf": organisation_ref(m["organisation"], organisations),
            "period": {"start": m["since"]} | ({"end": m["until"]} if m.get("until") else {}),
        }
        if m.get("role"):
            participant["role"] = [{"text": str(m["role"])}]
        participants.append(participant)
    lines = [f"{p['member']['display']} - {p['onBehalfOf']['display']}" for p in participants]
    return {
        "resourceType": "CareTeam",
        "id": f"team-{child_id}"[:64],
        "meta": meta_for([], "summary", "ONESTORY", "onestory-team", None) | {"source": HUB_SOURCE},
        "text": narrative("The team around the child", *lines),
        "status": "active",
        "name": "Team around the child",
        "subject": patient_ref(child_id),
        "participant": participants,
    }
