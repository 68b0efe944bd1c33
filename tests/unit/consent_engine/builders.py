"""Small builders for consent-engine inputs, so each test row says only what matters to it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from consent_engine import (
    NO_BASIS,
    BreakGlass,
    Consenter,
    ConsentRecord,
    ConsentStatus,
    Decision,
    Entry,
    Policy,
    Relationship,
    SharingBasis,
    SharingKind,
    Viewer,
    decide,
    parse_policy,
)
from consent_engine.directory import Directory

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_POLICY_PATH = ROOT / "consent_engine" / "policies" / "default.yaml"
DEFAULT_DIRECTORY_PATH = ROOT / "consent_engine" / "policies" / "organisations.yaml"
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CHILD = "child-1"

# Organisations of the default directory
GP, CAMHS, ACUTE, COMMUNITY, SCHOOL, SCHOOL2, LA, VCSE, HUB = (
    "A81001",
    "RX4",
    "RX1",
    "RY7",
    "100001",
    "100002",
    "990",
    "VCSE01",
    "ONESTORY",
)


@cache
def default_text() -> str:
    return DEFAULT_POLICY_PATH.read_text(encoding="utf-8")


@cache
def default_directory() -> Directory:
    return Directory.parse(DEFAULT_DIRECTORY_PATH.read_text(encoding="utf-8"), "organisations.yaml")


@cache
def default_policy() -> Policy:
    return parse_policy(default_text(), "default.yaml", default_directory())


def ago(days: float = 0, **kw: float) -> datetime:
    return NOW - timedelta(days=days, **kw)


def consent(
    id: str = "C1",
    status: ConsentStatus | str = ConsentStatus.GIVEN,
    by: Consenter | str = Consenter.YOUNG_PERSON,
    competent: bool = True,
    recorded_at: datetime | None = None,
    organisations: Iterable[str] = (),
    organisation_types: Iterable[str] = ("camhs",),
    categories: Iterable[str] = ("mental-health",),
    purposes: Iterable[str] = ("direct-care",),
    **kw: object,
) -> ConsentRecord:
    return ConsentRecord(
        id,
        ConsentStatus(status),
        Consenter(by),
        recorded_at or ago(30),
        competent,
        frozenset(organisations),
        frozenset(organisation_types),
        frozenset(categories),
        frozenset(purposes),
        **kw,  # type: ignore[arg-type]
    )


def parent(id: str = "P1", **kw: object) -> ConsentRecord:
    return consent(id, by=Consenter.PARENTAL_RESPONSIBILITY, competent=False, **kw)  # type: ignore[arg-type]


def refusal(id: str = "R1", by: Consenter | str = Consenter.YOUNG_PERSON, **kw: object) -> ConsentRecord:
    kw.setdefault("organisation_types", ())
    kw.setdefault("categories", ())
    kw.setdefault("purposes", ())
    return consent(id, status=ConsentStatus.REFUSED, by=by, **kw)  # type: ignore[arg-type]


def rel(organisation: str = CAMHS, **kw: object) -> Relationship:
    kw.setdefault("start", ago(365))
    return Relationship(organisation, **kw)  # type: ignore[arg-type]


def viewer(
    role: str = "camhs-clinician", organisation: str = CAMHS, purpose: str = "direct-care", **kw: object
) -> Viewer:
    return Viewer(f"user-{role}", organisation, role, purpose, **kw)  # type: ignore[arg-type]


def entry(
    category: str = "mental-health",
    source: str = GP,
    labels: Iterable[str] = (),
    basis: SharingBasis = NO_BASIS,
    child: str = CHILD,
) -> Entry:
    return Entry("entry-1", child, source, category, tuple(labels), basis, ago(1))


def safeguarding(
    decision_maker: str | None = "Jo Bloggs, DSL", reason: str | None = "risk of significant harm", **kw: object
) -> SharingBasis:
    return SharingBasis(SharingKind.LAWFUL_BASIS, "safeguarding", decision_maker, reason, **kw)  # type: ignore[arg-type]


def glass(
    reason: str = "emergency-care",
    justification: str = "collapsed, unable to consent",
    child: str = CHILD,
    starts: datetime | None = None,
    minutes: float = 60,
    categories: Iterable[str] = ("*",),
) -> BreakGlass:
    start = starts or ago(minutes=10)
    return BreakGlass(reason, justification, child, start, start + timedelta(minutes=minutes), frozenset(categories))


def run(
    v: Viewer,
    e: Entry,
    consents: Iterable[ConsentRecord] = (),
    relationships: Iterable[Relationship] | None = None,
    policy: Policy | None = None,
    now: datetime = NOW,
) -> Decision:
    """Decide with the default policy; by default the viewer's organisation has a relationship."""
    rels = [rel(v.organisation)] if relationships is None else list(relationships)
    return decide(policy or default_policy(), list(consents), rels, v, e, now)


MINI = """\
name: Mini policy
version: "1"
description: A small policy for edge cases.
purposes:
  direct-care: Care.
  safeguarding: Safeguarding.
  audit: Audit.
organisation_types:
  gp-practice: GP.
  school: School.
  hub: Hub.
roles:
  gp: {description: GP., purposes: [direct-care, safeguarding]}
  teacher: {purposes: [direct-care]}
  ig-officer: {purposes: [audit]}
categories:
  mental-health: Mental health.
  attendance: Attendance.
  sexual-health: Sexual health.
labels:
  PSY: Psychiatry.
  R: Restricted.
sealed:
  categories: [sexual-health]
matrix:
  gp:
    direct-care:
      full: [mental-health, sexual-health]
      summary: [attendance]
    safeguarding:
      full: ["*"]
  teacher:
    direct-care:
      full: [attendance]
      flag: [mental-health]
  ig-officer:
    audit:
      flag: ["*"]
rules:
  - id: deny-sch2-mental-health
    description: School Two never sees mental health.
    effect: deny
    when: {organisations: [SCH2], categories: [mental-health]}
  - id: limit-attendance-named-schools
    effect: limit
    max_level: summary
    when: {organisations: [SCH2, GP1], organisation_types: [school], categories: [attendance]}
  - id: limit-psy-sch1
    effect: limit
    max_level: flag
    when: {organisations: [SCH1], organisation_types: [school], labels: [PSY]}
  - id: limit-gp-safeguarding-sexual-health
    effect: limit
    max_level: flag
    when: {roles: [gp], purposes: [safeguarding], categories: [sexual-health]}
  - id: limit-gp-sexual-health
    effect: limit
    max_level: summary
    when: {roles: [gp], categories: [sexual-health]}
lawful_bases:
  court-order:
    description: A court order to share.
    applies: recorded
    purposes: [direct-care, safeguarding]
    requires_decision: true
    requires_relationship: false
    max_level: summary
  care:
    applies: recorded
    purposes: [direct-care]
  statutory-duty:
    description: A duty to tell the GP that something exists.
    applies: standing
    purposes: [safeguarding]
    roles: [gp]
    requires_relationship: false
    max_level: flag
  audit:
    applies: standing
    purposes: [audit]
    max_level: flag
"""


MINI_DIRECTORY_TEXT = """\
organisations:
  - {code: GP1, code_system: local, type: gp-practice, name: GP One, contact: call the practice}
  - {code: SCH1, code_system: local, type: school, name: School One}
  - {code: SCH2, code_system: local, type: school, name: School Two, contact: school office}
  - {code: HUB, code_system: local, type: hub, name: Hub}
"""
MINI_DIRECTORY = Directory.parse(MINI_DIRECTORY_TEXT, "mini-directory.yaml")


@cache
def mini_policy() -> Policy:
    return parse_policy(MINI, "mini.yaml", MINI_DIRECTORY)
