"""Reads one child's projections for one viewer and turns them into keyed FHIR resources (the only I/O here).

Disclosure is decided live by `hub.read.story.read_timeline` (the consent engine, at the moment of the read);
this module only maps what is visible. A viewer who may see nothing of a child gets `None`, exactly as if the
child did not exist, so the API's answer never reveals that something is hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection

from consent_engine import Level, Policy, Viewer
from hub.events.codec import EventCodec
from hub.fhir import care
from hub.fhir.mapping import resource_type_for, to_resource, validated
from hub.fhir.meta import HUB_SOURCE, Served, meta_for
from hub.fhir.paging import SortKey, time_key
from hub.read import children
from hub.read.fhir_patient import patient_resource
from hub.read.patient_search import PatientCriteria, matching_children
from hub.read.story import Story, read_timeline, summary


@dataclass(frozen=True)
class Keyed:
    """A resource not built yet: its type, sort key and what the audit records for it."""

    key: SortKey
    resource_type: str
    audit: dict[str, str]
    build: Callable[[], dict[str, Any]]
    occurred: datetime | None = None  # timeline entries only: what `_since` filters on


@dataclass
class ChildView:
    child_id: str
    story: Story
    now_summary: dict[str, Any]
    items: list[Keyed] = field(default_factory=list)

    def select(self, types: set[str] | None, since: datetime | None) -> list[Keyed]:
        return [
            k
            for k in self.items
            if (types is None or k.resource_type in types)
            and (since is None or k.occurred is None or k.occurred >= since)
        ]


def org_names(policy: Policy) -> dict[str, str]:
    return {code: org.name for code, org in policy.organisations.items()}


def served_items(policy: Policy, story: Story) -> list[Served]:
    """Visible rows with their live level; flags carry the engine's generic message and the contact."""
    notes = {e["id"]: e.get("note") for e in story.entries}
    names = org_names(policy)
    out = []
    for row in story.rows:
        level = story.levels.get(row["entry_id"], Level.NONE)
        if level is Level.NONE:
            continue
        org = policy.organisations.get(row["source_org"])
        out.append(
            Served(
                row=row,
                level=level.value,
                org_name=names.get(row["source_org"], row["source_org"]),
                message=notes.get(row["entry_id"]),
                contact=org.contact.text if org else None,
                organisations=policy.organisations,
            )
        )
    return out


def read_child(
    conn: Connection, codec: EventCodec, policy: Policy, viewer: Viewer, child_id: str, now: datetime
) -> ChildView | None:
    if not children.child_exists(conn, child_id):
        return None
    story = read_timeline(conn, policy, viewer, child_id, now)
    if not story.entries:
        return None
    now_summary = summary(conn, story, now)
    view = ChildView(child_id, story, now_summary)

    def patient() -> dict[str, Any]:
        resource = patient_resource(
            child_id, children.identifiers(conn, child_id), children.latest_subject(conn, codec, child_id)
        )
        resource["meta"] = meta_for([], "full", "ONESTORY", "onestory-identity", None) | {"source": HUB_SOURCE}
        return validated(resource)

    view.items.append(Keyed((0, "", child_id), "Patient", {"id": f"Patient/{child_id}", "level": "full"}, patient))
    team = care.care_team(child_id, now_summary["team"], policy.organisations)
    if team is not None:
        view.items.append(
            Keyed(
                (1, "", team["id"]),
                "CareTeam",
                {"id": f"CareTeam/{team['id']}", "level": "summary"},
                partial(validated, team),
            )
        )
    for episode in now_summary["episodes"]:
        resource = care.episode_of_care(child_id, episode, policy.organisations)
        view.items.append(
            Keyed(
                (2, "", resource["id"]),
                "EpisodeOfCare",
                {"id": f"EpisodeOfCare/{resource['id']}", "level": "summary"},
                partial(validated, resource),
            )
        )
    for item in served_items(policy, story):
        row = item.row
        view.items.append(
            Keyed(
                (3, time_key(row["occurred_at"]), row["entry_id"]),
                resource_type_for(item),
                {"id": row["entry_id"], "level": item.level},
                partial(to_resource, item),
                row["occurred_at"],
            )
        )
    return view


def audit_outcome(conn: Connection, child_id: str, view: ChildView | None) -> tuple[str, str | None]:
    """(outcome, child) for the audit record: a child who exists but shows nothing is a denial IG can see,
    although the caller gets the same 404 as for a child who does not exist."""
    if view is not None:
        return "success", child_id
    return ("denied", child_id) if children.child_exists(conn, child_id) else ("not-found", None)


def search_patients(
    conn: Connection,
    codec: EventCodec,
    policy: Policy,
    viewer: Viewer,
    criteria: PatientCriteria,
    in_context: Callable[[str], bool],
    now: datetime,
) -> list[tuple[str, dict[str, Any] | None]]:
    """Every child the criteria match, with their Patient if this viewer may see them (else None): the caller
    serves the Patients and audits every match, shown or not."""
    found: list[tuple[str, dict[str, Any] | None]] = []
    for child_id in matching_children(conn, criteria):
        view = read_child(conn, codec, policy, viewer, child_id, now) if in_context(child_id) else None
        found.append((child_id, view.items[0].build() if view is not None else None))
    return found
