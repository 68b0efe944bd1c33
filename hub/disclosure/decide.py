"""What a viewer may see of a child's record: stored rows ⇄ the consent engine, for reads and feeds alike.

The bridge (entries, relationships, viewer classes) is pure. The projections precompute decisions per viewer
class (for feeds and policy diffs); a read, and each outbound feed, decides again for the actual viewer at
the actual moment (`level_for`, `levels_for`, `disclose`), because relationships and consent periods end with
time. While a consent change for the child is accepted but not yet applied, only the viewer's own
organisation's entries are shown and the view says it is updating (DESIGN.md §7). Fail closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from consent_engine import (
    ConsentRecord,
    Decision,
    Entry,
    Level,
    Policy,
    Relationship,
    SharingBasis,
    SharingKind,
    Viewer,
    decide,
)
from hub.auth.tokens import Principal
from hub.db.projection_tables import competence_assessments, consent_pending, consent_records, team_members
from hub.disclosure.consent_records import birth_dates, records_of
from hub.disclosure.rules import Rules

_KIND = {"consent": SharingKind.CONSENT, "lawful_basis": SharingKind.LAWFUL_BASIS, "none": SharingKind.NONE}


def aware(value: datetime | None) -> datetime | None:
    """UTC-aware: SQLite hands back naive datetimes, and everything the hub stores is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def entry_of(row: dict[str, Any]) -> Entry:
    basis = row["sharing_basis"] or {}
    return Entry(
        id=row["entry_id"],
        child_id=row["child_id"],
        source_organisation=row["source_org"],
        category=row["category"],
        labels=tuple(row["sensitivity_labels"] or ()),
        sharing_basis=SharingBasis(
            kind=_KIND.get(str(basis.get("kind", "none")), SharingKind.NONE),
            reference=basis.get("reference"),
            decision_maker=basis.get("decided_by"),
            reason=basis.get("reason"),
        ),
        occurred_at=aware(row["occurred_at"]),
    )


def decision_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """What of an entry the consent engine's level depends on, besides the child: its id and time never count.

    Entries alike in these (a school's weekly attendance summaries) get the same decisions for the same
    child, viewer and moment, so the projector, a read and the outbound feeds each decide every kind of
    entry once per child (tests/unit/read/test_decision_key.py, tests/unit/projections/test_decision_memo.py).
    """
    basis = row["sharing_basis"] or {}
    return (
        row["source_org"],
        row["category"],
        tuple(row["sensitivity_labels"] or ()),
        str(basis.get("kind", "none")),
        basis.get("reference"),
        basis.get("decided_by"),
        basis.get("reason"),
    )


_RELATIONSHIPS: dict[tuple[Any, ...], Relationship] = {}
_RELATIONSHIPS_MAX = 100_000


def relationships_of(team: Iterable[dict[str, Any]]) -> list[Relationship]:
    """Organisation-level legitimate relationships from the team around the child.

    Relationships are immutable and validate themselves when built, and the worker asks for every touched
    child's in every batch: a member whose organisation, times and child are unchanged gets the same one
    (times keyed with their zone, so equal instants in other zones are not confused)."""
    rels = []
    for member in team:
        since, until = aware(member["since"]), aware(member["until"])
        assert since is not None
        key = (member["organisation"], since, since.tzinfo, until, until and until.tzinfo, member["child_id"])
        rel = _RELATIONSHIPS.get(key)
        if rel is None:
            if len(_RELATIONSHIPS) >= _RELATIONSHIPS_MAX:
                _RELATIONSHIPS.clear()
            rel = _RELATIONSHIPS[key] = Relationship(
                member["organisation"], start=since, end=until, child_id=member["child_id"]
            )
        rels.append(rel)
    return rels


def class_key(organisation: str, role: str, purpose: str) -> str:
    return f"{organisation}|{role}|{purpose}"


_CLASSES: dict[tuple[int, int, tuple[str, ...]], tuple[Policy, Rules, list[Viewer]]] = {}
_CLASSES_MAX = 10_000


def viewer_classes(policy: Policy, team: Iterable[dict[str, Any]], rules: Rules) -> list[Viewer]:
    """The viewer classes (organisation, role, purpose) of the team's organisations.

    They depend only on the policy, the rules and the set of organisations, which many children share: the
    projector asks for every touched child in every batch, so each set is worked out once per policy.
    """
    orgs = tuple(sorted({m["organisation"] for m in team}))
    key = (id(policy), id(rules), orgs)
    known = _CLASSES.get(key)
    if known is None or known[0] is not policy or known[1] is not rules:
        if len(_CLASSES) >= _CLASSES_MAX:
            _CLASSES.clear()
        known = _CLASSES[key] = (policy, rules, _viewer_classes(policy, orgs, rules))
    return list(known[2])


def _viewer_classes(policy: Policy, orgs: tuple[str, ...], rules: Rules) -> list[Viewer]:
    roles_by_type: dict[str, list[str]] = rules.raw["viewer_classes"]
    classes: list[Viewer] = []
    for org in orgs:
        known = policy.organisations.get(org)
        if known is None:
            continue
        for role in roles_by_type.get(known.type, []):
            for purpose in sorted(policy.roles[role].purposes) if role in policy.roles else ():
                classes.append(Viewer(user_id=f"class:{role}", organisation=org, role=role, purpose=purpose))
    return classes


def class_decisions(
    policy: Policy,
    consents: Sequence[ConsentRecord],
    rels: Sequence[Relationship],
    classes: Sequence[Viewer],
    entry: Entry,
    now: datetime,
) -> dict[str, str]:
    """Levels above none for each viewer class: what a read filters on."""
    out: dict[str, str] = {}
    for viewer in classes:
        level = decide(policy, consents, rels, viewer, entry, now).level
        if level is not Level.NONE:
            out[class_key(viewer.organisation, viewer.role, viewer.purpose)] = level.value
    return out


@dataclass(frozen=True)
class ChildContext:
    child_id: str
    consents: tuple[ConsentRecord, ...]
    relationships: tuple[Relationship, ...]
    team: tuple[dict[str, Any], ...]
    updating: bool


def load_context(conn: Connection, child_id: str) -> ChildContext:
    def rows(table: Any) -> list[dict[str, Any]]:
        return [
            {k: aware(v) if isinstance(v, datetime) else v for k, v in r._mapping.items()}
            for r in conn.execute(select(table).where(table.c.child_id == child_id))
        ]

    team = rows(team_members)
    pending = (
        conn.execute(select(consent_pending.c.event_id).where(consent_pending.c.child_id == child_id).limit(1)).scalar()
        is not None
    )
    consents = rows(consent_records)
    facts = (rows(competence_assessments), birth_dates(conn, [child_id])[child_id]) if consents else ((), None)
    return ChildContext(
        child_id,
        tuple(records_of(consents, *facts)),
        tuple(relationships_of(team)),
        tuple(team),
        pending,
    )


def viewer_of(principal: Principal) -> Viewer:
    return Viewer(
        user_id=principal.user, organisation=principal.organisation, role=principal.role, purpose=principal.purpose
    )


def levels_for(
    policy: Policy, ctx: ChildContext, viewer: Viewer, rows: list[dict[str, Any]], now: datetime
) -> list[Decision]:
    """`level_for` of every row, deciding once per distinct `decision_key` (weekly attendance repeats)."""
    seen: dict[tuple[Any, ...], Decision] = {}
    out = []
    for row in rows:
        key = decision_key(row)
        decision = seen.get(key)
        if decision is None:
            decision = seen[key] = level_for(policy, ctx, viewer, row, now)
        out.append(decision)
    return out


def level_for(policy: Policy, ctx: ChildContext, viewer: Viewer, row: dict[str, Any], now: datetime) -> Decision:
    decision = decide(policy, ctx.consents, ctx.relationships, viewer, entry_of(row), now)
    if ctx.updating and row["source_org"] != viewer.organisation and decision.level is not Level.NONE:
        return decide(policy, (), (), viewer, entry_of(row | {"sharing_basis": {"kind": "none"}}), now)
    return decision


def disclose(entry: dict[str, Any], decision: Decision) -> dict[str, Any]:
    """Shape an entry for its level: flag says only that something exists and who to contact."""
    level = decision.level.value
    base = {
        "id": entry["entry_id"],
        "occurredAt": entry["occurred_at"].isoformat(),
        "source": {"organisation": entry["source_org"], "system": entry["source_system"]},
        "level": level,
    }
    if level == "flag":
        return base | {"note": decision.practitioner_message}
    base |= {"kind": entry["kind"], "category": entry["category"], "summary": entry["summary"]}
    if level == "full":
        base |= {
            "detail": entry["detail"],
            "sensitivityLabels": entry["sensitivity_labels"],
            "sharingBasis": entry["sharing_basis"],
            "correlationIds": entry["correlation_ids"],
        }
    return base
