"""Competence through the projections on SQLite and PostgreSQL: a young person's refusal is respected until a
competence.assessed event says they were not competent, and that event re-projects the child at once."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from consent_engine import Viewer
from hub.db.engine import make_engine
from hub.db.identity_tables import identity_records
from hub.db.migrate import upgrade
from hub.db.projection_tables import competence_assessments
from hub.db.tables import timeline_entries
from hub.disclosure.consent_records import birth_dates
from hub.read.story import read_timeline
from tests.integration.test_projections_sql import POLICY, Feed
from tests.support.events import event
from tests.support.story import CAMHS, GP, SCHOOL

pytestmark = pytest.mark.integration
CHILD = str(uuid.UUID(int=15))


def _consent(status: str, given_by: str, day: float, consent_id: str) -> dict[str, Any]:
    return event(
        f"consent.{status}",
        "consent",
        SCHOOL,
        "Consent",
        {
            "consent_id": consent_id,
            "status": status,
            "given_by": given_by,
            "competent": None,
            "recipient_organisation_types": ["gp-practice"],
            "categories": ["pastoral-concern"],
            "purposes": ["direct-care"],
            "recorded_by": "school-dsl",
        },
        child_id=CHILD,
        day=day,
        org_type="school",
    )


def _assessed(outcome: str, day: float) -> dict[str, Any]:
    return event(
        "competence.assessed",
        "consent",
        CAMHS,
        "Competence",
        {
            "assessment_id": f"A-{outcome}",
            "outcome": outcome,
            "decision": "information-sharing",
            "categories": [],
            "assessed_by": "camhs-clinician C4711",
            "assessed_at": datetime(2026, 1, 1, tzinfo=UTC),
        },
        child_id=CHILD,
        day=day,
        org_type="camhs",
        basis=("none", None),
    )


def _story() -> list[dict[str, Any]]:
    return [
        _consent("given", "parental-responsibility", 0, "P1"),
        event("person.registered", "demographics", GP, "Person", {"registered_gp": GP}, child_id=CHILD, day=0,
              org_type="gp-practice", basis=("lawful_basis", "direct-care")),
        event("concern.raised", "pastoral-concern", SCHOOL, "Concern", {"concern_id": "PC1",
              "concern_type": "pastoral"}, child_id=CHILD, day=1, org_type="school", basis=("consent", "P1")),
        _consent("refused", "young-person", 2, "Y1"),
    ]  # fmt: skip


def _gp_sees(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        story = read_timeline(conn, POLICY, Viewer("u-gp", GP, "gp", "direct-care"), CHILD, datetime.now(UTC))
    return {e["id"]: e["level"] for e in story.entries}


@pytest.fixture
def engine(database_url: str) -> Engine:
    e = make_engine(database_url)
    upgrade(e)
    return e


def test_refusal_respected_until_assessed_not_competent(engine: Engine) -> None:
    feed = Feed(engine)
    events = _story()
    concern = events[2]["event_id"]
    feed.send(events[:3])
    assert _gp_sees(engine)[concern] == "summary"  # the parent consented
    feed.send(events[3:])
    assert concern not in _gp_sees(engine)  # the young person (under 16, not assessed) refused: respected
    feed.send([_assessed("not_competent", 3)])
    assert _gp_sees(engine)[concern] == "summary"  # assessed not competent: the parent decides, at once
    with engine.connect() as conn:
        rows = conn.execute(select(competence_assessments)).mappings().all()
        assert [(r["assessment_id"], r["outcome"], r["child_id"]) for r in rows] == [
            ("A-not_competent", "not_competent", CHILD)
        ]
        decisions = conn.execute(
            select(timeline_entries.c.decisions).where(timeline_entries.c.entry_id == concern)
        ).scalar_one()
        assert "summary" in set(decisions.values())  # the stored viewer-class decisions were re-derived
    feed.send([_assessed("competent", 4)])
    assert concern not in _gp_sees(engine)  # a later assessment says competent: the refusal counts again


def test_birth_dates_come_from_the_identity_registry(engine: Engine) -> None:
    with engine.begin() as conn:
        for key, born in (("r1", date(2010, 3, 1)), ("r2", date(2010, 3, 3)), ("r3", None)):
            conn.execute(
                insert(identity_records).values(
                    record_key=key,
                    child_id=CHILD,
                    source_org=GP,
                    identifiers=[],
                    invalid_identifiers=[],
                    given_name="a",
                    family_name="b",
                    birth_date=born,
                    sex="F",
                    postcode="",
                    first_seen=datetime(2026, 1, 1, tzinfo=UTC),
                )
            )
        assert birth_dates(conn, [CHILD, "nobody"]) == {CHILD: date(2010, 3, 3), "nobody": None}
