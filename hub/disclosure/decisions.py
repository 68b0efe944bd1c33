"""Bridging projection rows and the consent engine: entries, relationships, viewer classes, decisions. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from consent_engine import (
    ConsentRecord,
    Entry,
    Level,
    Policy,
    Relationship,
    SharingBasis,
    SharingKind,
    Viewer,
    decide,
)
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


def relationships_of(team: Iterable[dict[str, Any]]) -> list[Relationship]:
    """Organisation-level legitimate relationships from the team around the child."""
    rels = []
    for member in team:
        since = aware(member["since"])
        assert since is not None
        rels.append(
            Relationship(member["organisation"], start=since, end=aware(member["until"]), child_id=member["child_id"])
        )
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
