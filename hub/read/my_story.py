"""A young person's own view of their story ("My story"), or a parent's narrower view: a read model, no HTTP.

What it shows is decided by the same consent engine as every practitioner read, from the same rows:
- the team: organisations involved, in plain words, with how to contact them;
- sharing: for each kind of information, which organisations can see some of it now and on what basis,
  worked out by deciding every entry of that kind for each team organisation's roles (hub.disclosure);
- choices: the person's own yes or no per kind of information and kind of organisation, from their consent
  records, and whether their choices count now (the policy's competence rules, at this moment);
- looked: who read the story (organisation and role from the access log, never a name);
- words: the young person's own words (voice-of-child entries, their own self-referral).

Which sections each holder gets, and every word, come from my_story.yaml. `plan_changes` turns a submitted
choice into the consent changes to send (pure).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import Connection, select

from consent_engine import ANY, Consenter, ConsentRecord, ConsentStatus, Level, Policy
from consent_engine.consent_state import judge
from hub.db.identity_tables import identity_records
from hub.db.projection_tables import competence_assessments
from hub.db.tables import audit_log
from hub.disclosure.consent_records import birth_dates, facts_of
from hub.disclosure.decide import ChildContext, levels_for, load_context, viewer_classes
from hub.disclosure.rules import bundled_rules
from hub.read import children

YOUNG_PERSON, PARENT = "young-person", "parental-responsibility"
LOOKS = ("read", "query", "break-glass")
LONDON = ZoneInfo("Europe/London")
YES, NO = "yes", "no"


@dataclass(frozen=True)
class Words:
    information: dict[str, dict[str, Any]]
    organisations: dict[str, dict[str, Any]]
    types: dict[str, str]
    roles: dict[str, str]
    bases: dict[str, str]
    sections: dict[str, list[str]]
    looked_limit: int
    talk_to: list[str]


@cache
def words() -> Words:
    raw = yaml.safe_load(resources.files("hub.read").joinpath("my_story.yaml").read_text(encoding="utf-8"))
    return Words(**raw)


@dataclass
class TeamMember:
    name: str
    what: str
    contact: str
    type: str = ""
    code: str = ""  # the organisation's code in the directory: where a question asked of it is filed


@dataclass
class Sharing:
    kind: str
    name: str
    says: str
    seen_by: list[tuple[str, str]] = field(default_factory=list)  # (organisation words, why)


@dataclass
class Look:
    at: datetime
    who: str
    where: str
    emergency: bool


@dataclass
class MyStory:
    child_id: str
    holder: str
    given_name: str | None
    sections: list[str]
    competent: bool
    updating: bool
    team: list[TeamMember] = field(default_factory=list)
    sharing: list[Sharing] = field(default_factory=list)
    choices: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (org kind, info kind) -> yes/no
    looked: list[Look] = field(default_factory=list)
    words: list[str] = field(default_factory=list)

    def audit_entries(self) -> list[dict[str, str]]:
        return [{"id": f"my-story:{s}", "level": "summary"} for s in self.sections]


def _sealed(policy: Policy, row: Mapping[str, Any]) -> bool:
    return row["category"] in policy.sealed_categories or not policy.sealed_labels.isdisjoint(
        row["sensitivity_labels"] or ()
    )


def _org_words(policy: Policy, code: str) -> tuple[str, str, str]:
    org = policy.organisations.get(code)
    if org is None:
        return code, "", ""
    return org.name, words().types.get(org.type, ""), org.contact.text


def is_competent(
    ctx: ChildContext, assessments: Iterable[dict[str, Any]], born: date | None, policy: Policy, now: datetime
) -> bool:
    """Whether the young person's own yes counts now (assessed competent, or presumed by age), for every kind
    of information on the page: the consent engine's own rule, asked about a yes they might give now."""
    facts = facts_of(assessments, born)
    categories = {c for kind in words().information.values() for c in kind["categories"]}
    probe = ConsentRecord(
        id="my-story-probe",
        status=ConsentStatus.GIVEN,
        by=Consenter.YOUNG_PERSON,
        recorded_at=now,
        organisation_types=frozenset({ANY}),
        categories=frozenset(categories),
        purposes=frozenset({ANY}),
        child_id=ctx.child_id,
        competence=facts,
    )
    return all(judge(probe, policy.competence, c, now)[0] == 2 for c in sorted(categories))


def choice_state(records: Iterable[ConsentRecord], holder: str, now: datetime) -> dict[tuple[str, str], str | None]:
    """The holder's own current yes/no per (organisation kind, information kind): the latest of their records
    covering each type and category; a cell is yes or no only if every pair in it agrees, else None."""
    mine = sorted(
        (r for r in records if r.by.value == holder and r.withdraws is None and r.recorded_at <= now),
        key=lambda r: (r.recorded_at, r.id),
    )
    out: dict[tuple[str, str], str | None] = {}
    for org_kind, org in words().organisations.items():
        for info_kind, info in words().information.items():
            seen: set[str | None] = set()
            for org_type in org["types"]:
                for category in info["categories"]:
                    state = None
                    for r in mine:
                        given = r.status is ConsentStatus.GIVEN
                        types_ok = org_type in r.organisation_types or ANY in r.organisation_types
                        cats_ok = category in r.categories or ANY in r.categories
                        if (types_ok or (not given and not r.organisation_types and not r.organisations)) and (
                            cats_ok or (not given and not r.categories)
                        ):
                            state = YES if given else NO
                    seen.add(state)
            out[(org_kind, info_kind)] = seen.pop() if len(seen) == 1 else None
    return out


def plan_changes(
    current: Mapping[tuple[str, str], str | None], wanted: Mapping[tuple[str, str], str]
) -> list[dict[str, Any]]:
    """The consent changes a submitted choice makes: one per cell whose answer differs from now. A no to
    something said yes to is a withdrawal; any other no is a refusal; a yes is a consent given."""
    changes = []
    for (org_kind, info_kind), answer in sorted(wanted.items()):
        now_state = current.get((org_kind, info_kind))
        if answer not in (YES, NO) or answer == now_state:
            continue
        status = "given" if answer == YES else "withdrawn" if now_state == YES else "refused"
        changes.append(
            {
                "status": status,
                "organisation_types": list(words().organisations[org_kind]["types"]),
                "categories": list(words().information[info_kind]["categories"]),
                "cell": [org_kind, info_kind],
            }
        )
    return changes


def _basis_words(basis: str | None, consents: Mapping[str, ConsentRecord]) -> str:
    w = words().bases
    if basis and basis.startswith("consent:"):
        record = consents.get(basis.split(":", 1)[1])
        if record is not None:
            key = "consent-young-person" if record.by is Consenter.YOUNG_PERSON else "consent-parent"
            return w[key].format(date=_day(record.recorded_at))
    return w.get(basis or "", w["other"])


def _day(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local.day} {local:%B %Y}"


def _sharing(policy: Policy, ctx: ChildContext, rows: list[dict[str, Any]], now: datetime) -> list[Sharing]:
    consents = {c.id: c for c in ctx.consents}
    classes = viewer_classes(policy, ctx.team, bundled_rules())
    out = []
    for kind, info in words().information.items():
        mine = [r for r in rows if r["category"] in info["categories"] and not _sealed(policy, r)]
        item = Sharing(kind, info["name"], info["says"])
        for org in sorted({v.organisation for v in classes}):
            why = None
            for viewer in (v for v in classes if v.organisation == org):
                for decision in levels_for(policy, ctx, viewer, mine, now):
                    if decision.level is not Level.NONE:
                        why = why or _basis_words(decision.basis, consents)
            if why is not None:
                name, what, _ = _org_words(policy, org)
                item.seen_by.append((f"{name} ({what})" if what else name, why))
        out.append(item)
    return out


def _team(policy: Policy, ctx: ChildContext, rows: list[dict[str, Any]], now: datetime) -> list[TeamMember]:
    """Organisations in the team, except those whose every entry is sealed (a sexual-health clinic's
    involvement is itself private)."""
    open_orgs = {r["source_org"] for r in rows if not _sealed(policy, r)}
    team = []
    for code in sorted({m["organisation"] for m in ctx.team if m["until"] is None or m["until"] > now}):
        if code not in open_orgs:
            continue
        name, what, contact = _org_words(policy, code)
        known = policy.organisations.get(code)
        team.append(TeamMember(name, what, contact, known.type if known else "", code))
    return team


def _looked(conn: Connection, policy: Policy, child_id: str) -> list[Look]:
    rows = conn.execute(
        select(audit_log.c.recorded_at, audit_log.c.organisation, audit_log.c.role, audit_log.c.action)
        .where(
            audit_log.c.child_id == child_id,
            audit_log.c.action.in_(LOOKS),
            audit_log.c.outcome == "success",
            audit_log.c.role.in_(list(words().roles)),
        )
        .order_by(audit_log.c.seq.desc())
        .limit(words().looked_limit * 4)
    )
    out: list[Look] = []
    for at, org, role, action in rows:
        moment = at.replace(tzinfo=UTC) if at.tzinfo is None else at
        name, _, _ = _org_words(policy, org)
        look = Look(moment, words().roles[role], name, action == "break-glass")
        last = out[-1] if out else None
        if last and (last.who, last.where) == (look.who, look.where) and (last.at - moment).total_seconds() < 120:
            continue  # one visit reads the timeline and the summary: one look
        out.append(look)
    return out[: words().looked_limit]


def _own_words(policy: Policy, rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        detail = r["detail"] or {}
        if _sealed(policy, r):
            continue
        if r["category"] == "voice-of-child" and detail.get("text"):
            asked = detail.get("captured_by_role") == YOUNG_PERSON and detail.get("topic")
            out.append(f"{detail['topic']}: {detail['text']}" if asked else str(detail["text"]))
        elif r["category"] == "self-referral" and detail.get("requester") == YOUNG_PERSON and detail.get("help_wanted"):
            out.append(str(detail["help_wanted"]))
    return out


def read_my_story(conn: Connection, policy: Policy, child_id: str, holder: str, now: datetime) -> MyStory:
    ctx = load_context(conn, child_id)
    rows = children.timeline(conn, child_id)
    assessments = [
        dict(r._mapping)
        for r in conn.execute(select(competence_assessments).where(competence_assessments.c.child_id == child_id))
    ]
    born = birth_dates(conn, [child_id])[child_id]
    sections = list(words().sections.get(holder, []))
    story = MyStory(
        child_id,
        holder,
        given_name(conn, child_id),
        sections,
        is_competent(ctx, assessments, born, policy, now),
        ctx.updating,
    )
    if "team" in sections or "ask" in sections:
        story.team = _team(policy, ctx, rows, now)
    if "sharing" in sections:
        story.sharing = _sharing(policy, ctx, rows, now)
    if "choices" in sections:
        story.choices = choice_state(ctx.consents, holder, now)
    if "looked" in sections:
        story.looked = _looked(conn, policy, child_id)
    if "words" in sections:
        story.words = _own_words(policy, rows)
    return story


def given_name(conn: Connection, child_id: str) -> str | None:
    """The first name a source recorded: the page greets the young person by it, and names them to their parent."""
    name = conn.execute(
        select(identity_records.c.given_name)
        .where(identity_records.c.child_id == child_id, identity_records.c.given_name != "")
        .limit(1)
    ).scalar()
    return " ".join(part[:1].upper() + part[1:] for part in name.split()) if name else None


def identifiers_for_intake(conn: Connection, child_id: str) -> list[dict[str, str]]:
    """The child's identifiers as the hub holds them, so a choice made on the page finds the same child."""
    return [{"system": s, "value": v} for s, v in children.identifiers(conn, child_id)]


def birth_dates_of(conn: Connection, child_id: str) -> set[date]:
    """Every date of birth a source recorded for the child (sign-in accepts any of them)."""
    out = set()
    for (born,) in conn.execute(
        select(identity_records.c.birth_date).where(
            identity_records.c.child_id == child_id, identity_records.c.birth_date.is_not(None)
        )
    ):
        out.add(born.date() if isinstance(born, datetime) else born)
    return out
