"""Reads one child's projections for one viewer and turns them into keyed FHIR resources (the only I/O here).

Disclosure is decided live by `hub.read.story.decided` (the consent engine, at the moment of the read);
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
from hub.fhir.bundles import EncodedResource
from hub.fhir.mapping import resource_type_for, to_resource, validated
from hub.fhir.meta import HUB_SOURCE, Served, meta_for
from hub.fhir.paging import SortKey, time_key
from hub.read import children, story_cache
from hub.read.fhir_patient import patient_resource
from hub.read.patient_search import PatientCriteria, matching_children
from hub.read.story import Story, decided, summary


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


class _Once:
    """A resource built on first use and kept: the same served entry builds the same resource."""

    __slots__ = ("_make", "_made")

    def __init__(self, make: Callable[[], dict[str, Any]]) -> None:
        self._make = make
        self._made: dict[str, Any] | None = None

    def __call__(self) -> dict[str, Any]:
        made = self._made
        if made is None:
            made = self._made = EncodedResource.of(self._make())
        return made


def entry_items(policy: Policy, story: Story) -> list[Keyed]:
    """The visible entries as keyed resources, in key order. With a kept record (hub.read.story_cache) they are
    made once per policy and outcome of the decisions, and each resource is built once, when first served;
    the caller never mutates them."""

    def make() -> list[Keyed]:
        items = [
            Keyed(
                (3, time_key(item.row["occurred_at"]), item.row["entry_id"]),
                resource_type_for(item),
                {"id": item.row["entry_id"], "level": item.level},
                _Once(partial(to_resource, item)),
                item.row["occurred_at"],
            )
            for item in served_items(policy, story)
        ]
        items.sort(key=_key)
        return items

    if story.record is None or story.outcome is None:
        return make()
    return list(story.record.shape(("fhir", id(policy), policy.version, story.outcome), make))


def _key(item: Keyed) -> SortKey:
    return item.key


def read_child(
    conn: Connection, codec: EventCodec, policy: Policy, viewer: Viewer, child_id: str, now: datetime
) -> ChildView | None:
    live = story_cache.state(conn, child_id)
    if not live.exists:
        return None
    kept = story_cache.cache_for(conn.engine).record(conn, child_id, live.fingerprint)
    story = decided(policy, viewer, kept, live.pending, now)  # the FHIR API has no break-glass of its own
    if not story.entries:
        return None
    now_summary = summary(conn, story, now)
    view = ChildView(child_id, story, now_summary)

    def patient() -> dict[str, Any]:
        idents = children.identifiers(conn, child_id)
        subject = kept.shape("subject", lambda: children.latest_subject(conn, codec, child_id) or {})
        return kept.shape(("patient", tuple(idents)), partial(_patient, child_id, idents, subject or None))

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
    view.items.extend(entry_items(policy, story))
    return view


def _patient(child_id: str, idents: list[tuple[str, str]], subject: dict[str, Any] | None) -> dict[str, Any]:
    resource = patient_resource(child_id, idents, subject)
    resource["meta"] = meta_for([], "full", "ONESTORY", "onestory-identity", None) | {"source": HUB_SOURCE}
    return validated(resource)


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
