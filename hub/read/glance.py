"""The viewer's story: the child at a glance (banner, status bar), the entries with their detail, the team.

Everything is built from what the read already decided (`Story`): the visible entries, the team members of
organisations the viewer sees something from, the episodes and plans shown at summary or more. The banner's
identity lines (name, NHS number, date of birth) are what a practitioner needs to know they have the right
child and are shown only with a story (a viewer who may see nothing gets a 404 before this runs).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from connectors.identifiers import NHS_NUMBER_SYSTEM
from consent_engine import Policy, Viewer
from hub.disclosure.consent_records import birth_dates
from hub.events.codec import EventCodec
from hub.read import children
from hub.read.presentation import Presentation, age_on, bundled, nhs_number_text, status_items
from hub.read.story import Story, summary


def _thrive(thrive: dict[str, Any] | None, names: dict[str, str]) -> dict[str, Any] | None:
    """The grouping and who agreed it; the young person's own words stay with their (full-level) entry."""
    if not thrive:
        return None
    agreed = [names.get(str(who), str(who)) for who in thrive.get("agreed_by") or []]
    return {"grouping": thrive.get("grouping"), "agreed_by": agreed, "at": thrive.get("at")}


def _relationship(story: Story, viewer: Viewer, names: dict[str, str]) -> str:
    """The viewer's own relationship to the child, in words (about the viewer's organisation only)."""
    if story.break_glass is not None:
        return f"Break-glass access ({story.break_glass.reason.replace('-', ' ')}), no recorded relationship"
    mine = [m for m in (story.context.team if story.context else ()) if m["organisation"] == viewer.organisation]
    org = names.get(viewer.organisation, viewer.organisation)
    if any(m["until"] is None for m in mine):
        return f"{org} is in the team around the child"
    if mine:
        ended = max(m["until"] for m in mine)
        return f"{org} was in the team around the child until {ended:%-d %B %Y}"
    return "No recorded relationship with the child"


def _banner(
    conn: Connection,
    codec: EventCodec,
    story: Story,
    viewer: Viewer,
    team: list[dict[str, Any]],
    entries: list[dict[str, Any]],
    names: dict[str, str],
    today: date,
) -> dict[str, Any]:
    subject = children.latest_subject(conn, codec, story.child_id) or {}
    nhs = next((v for system, v in children.identifiers(conn, story.child_id) if system == NHS_NUMBER_SYSTEM), None)
    born = birth_dates(conn, [story.child_id])[story.child_id]
    current = [m for m in team if m["until"] is None]
    gp = next((m["orgName"] for m in current if m["organisationType"] == "gp-practice"), None)
    if gp is None:  # a registration the viewer may see in full names the GP
        gp = next(
            (
                names.get(str(e["detail"]["registered_gp"]), str(e["detail"]["registered_gp"]))
                for e in entries
                if e["level"] == "full" and (e.get("detail") or {}).get("registered_gp")
            ),
            None,
        )
    school = next((m["orgName"] for m in current if m["organisationType"] == "school"), None)
    return {
        "name": " ".join(p for p in (subject.get("given_name"), subject.get("family_name")) if p),
        "nhsNumber": nhs_number_text(nhs) if nhs else None,
        "birthDate": born.isoformat() if born else None,
        "age": age_on(born, today) if born else None,
        "gp": gp,
        "school": school,
        "relationship": _relationship(story, viewer, names),
        "related": any(
            m["organisation"] == viewer.organisation and m["until"] is None
            for m in (story.context.team if story.context else ())
        ),
    }


def _entry(p: Presentation, policy: Policy, entry: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    org = entry["source"]["organisation"]
    known = policy.organisations.get(org)
    out = entry | {
        "orgName": names.get(org, org),
        "agency": p.agency(known.type if known else None),
        "categoryLabel": p.category(entry.get("category")) if entry["level"] != "flag" else None,
    }
    if entry["level"] == "full":
        out["facts"] = p.facts(entry.get("detail"), names)
    return out


def page_story(
    conn: Connection, codec: EventCodec, policy: Policy, viewer: Viewer, story: Story, now: datetime
) -> dict[str, Any]:
    """The page's JSON: banner, status bar, entries with labelled detail, team, THRIVE, ending, episodes."""
    p = bundled()
    names = {code: org.name for code, org in policy.organisations.items()}
    types = {code: org.type for code, org in policy.organisations.items()}
    contacts = {code: org.contact.text for code, org in policy.organisations.items()}
    now_summary = summary(conn, story, now)
    team = [
        m
        | {
            "orgName": names.get(m["organisation"], m["organisation"]),
            "organisationType": types.get(m["organisation"], m["organisationType"]),  # the directory's word
            "agency": p.agency(types.get(m["organisation"], m["organisationType"])),
            "contact": m["contact"] or contacts.get(m["organisation"]),
            "until": m["until"],
        }
        for m in now_summary["team"]
    ]
    entries = [_entry(p, policy, e, names) for e in story.entries]
    banner = _banner(conn, codec, story, viewer, team, story.entries, names, now.date())
    return {
        "childId": story.child_id,
        "name": banner["name"],
        "banner": banner,
        "status": status_items(p, now_summary["openPlans"], story.entries, now_summary["episodes"], names, now.date()),
        "updating": story.updating,
        "entries": entries,
        "team": team,
        "thrive": _thrive(now_summary["thrive"], names),
        "ending": now_summary["ending"],
        "episodes": now_summary["episodes"],
        "breakGlass": story.break_glass.as_json(policy) if story.break_glass else None,
    }
