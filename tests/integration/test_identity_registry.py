"""Issue 5 at the SQL level on SQLite and PostgreSQL: resolve, review, merge and unmerge with real projections.

Events go through the registry (as the identity agent does) and then the real projector, so a merge or
unmerge is checked on what a reader would see: the timeline rows of each child.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from connectors.identifiers import NHS_NUMBER_SYSTEM, UPN_SYSTEM
from hub.db.engine import make_engine
from hub.db.identity_tables import identity_blocks, identity_decisions, identity_records, identity_reviews
from hub.db.migrate import upgrade
from hub.db.tables import audit_log, children, timeline_entries
from hub.disclosure.rules import bundled_rules
from hub.events.codec import EventCodec
from hub.policy_files import load_policy
from hub.synth import generate_population, generate_records
from hub.synth import identifiers as synth_ids
from projections.child_projector import project_batch
from projections.identity import review
from projections.identity.lookups import Lookups
from projections.identity.registry import Registry, follow_links
from projections.identity.reproject import Reprojector
from projections.sql_sink import Consumed
from tests.support.events import event

pytestmark = pytest.mark.integration
CODEC = EventCodec.load()
POLICY = load_policy()
REPROJECT = Reprojector(CODEC, POLICY, bundled_rules())
NHS = "9434765870"
UPN = "B801200005001"
STEWARD = review.Steward("steward-1", "990", "data-steward", "direct-care", None)


def subject(
    ids: list[tuple[str, str]],
    given: str = "Amara",
    family: str = "Okafor",
    dob: date | None = date(2011, 3, 4),
    postcode: str | None = "LS1 4AP",
) -> dict[str, Any]:
    return {
        "identifiers": [{"system": s, "value": v, "validated": True} for s, v in ids],
        "given_name": given,
        "family_name": family,
        "birth_date": dob,
        "sex": "F",
        "postcode": postcode,
    }


def record(org: str, ids: list[tuple[str, str]], n: int, **demo: Any) -> dict[str, Any]:
    e = event("person.registered", "demographics", org, "Person", {}, n=n, day=n)
    e["subject"] = subject(ids, **demo)
    return e


class Hub:
    """Identity agent + projector in miniature: the same calls, batches and transactions as the worker."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.registry = Registry.bundled(REPROJECT)
        self.offset = -1

    def ingest(self, *events: dict[str, Any]) -> list[str]:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            for e in events:
                e["child_id"] = self.registry.resolve_event(conn, e, now)
        records = []
        for e in events:
            self.offset += 1
            body = CODEC.encode(e)
            records.append(Consumed("onestory.events.v1", 0, self.offset, body, CODEC.decode(body)))
        follow_links(self.engine, [r.event for r in records])
        project_batch(self.engine, POLICY, bundled_rules(), "projector.timeline", {"onestory.events.v1": "t1"}, records)
        return [e["child_id"] for e in events]

    def entries(self, child_id: str) -> set[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(timeline_entries.c.entry_id).where(timeline_entries.c.child_id == child_id))
            return set(rows.scalars())

    def reviews(self) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(identity_reviews).order_by(identity_reviews.c.created_at)))


@pytest.fixture
def hub(database_url: str) -> Hub:
    engine = make_engine(database_url)
    upgrade(engine)
    return Hub(engine)


def test_identifiers_link_scores_link_and_twins_and_conflicts_go_to_review(hub: Hub) -> None:
    school = record("100001", [(UPN_SYSTEM, UPN), ("urn:onestory:id:100001:MIS", "S1")], 1)
    gp = record("A81001", [(NHS_NUMBER_SYSTEM, NHS), ("urn:onestory:id:A81001:PAS", "G1")], 2, given="Amarah")
    council = record("990", [(NHS_NUMBER_SYSTEM, NHS), (UPN_SYSTEM, UPN)], 3, postcode="BD3 9ZZ")
    twin = record("100001", [("urn:onestory:id:100001:MIS", "S2")], 4, given="Kemi")
    conflict = record("RX4", [(NHS_NUMBER_SYSTEM, NHS), ("urn:onestory:id:RX4:MR", "C1")], 5, dob=date(2011, 3, 9))
    bad_nhs = record(
        "VCSE01",
        [(NHS_NUMBER_SYSTEM, "9434765871"), ("urn:onestory:id:VCSE01:C", "V1")],
        6,
        given="Zara",
        family="Mensah",
        dob=None,
    )
    a, a_gp, a_council, b_twin, c_conflict, d_vcse = hub.ingest(school, gp, council, twin, conflict, bad_nhs)
    assert a == a_gp == a_council, "spelling variant scored to a link, then identifiers agree"
    assert len({a, b_twin, c_conflict, d_vcse}) == 4, "twin, conflict and the invalid NHS number are not linked"
    reasons = {(r.child_a, r.child_b): r.reason for r in hub.reviews()}
    assert reasons[(a, b_twin)] == "possible-twin"
    assert reasons[(a, c_conflict)] == "nhs-dob-conflict"
    with hub.engine.connect() as conn:
        flagged = conn.execute(
            select(identity_records.c.invalid_identifiers).where(identity_records.c.child_id == d_vcse)
        ).scalar_one()
    assert flagged == [[NHS_NUMBER_SYSTEM, "check-digit"]]


def test_records_agreeing_with_a_split_off_birth_date_join_that_child_and_the_conflict_stays_open(hub: Hub) -> None:
    """The NHS number was first seen with a mistyped birth date: later records with the right date join the
    child split off by the conflict, records with the first date stay with the first child, nothing merges."""
    wrong = record("RX4", [(NHS_NUMBER_SYSTEM, NHS), ("urn:onestory:id:RX4:MR", "C1")], 1, dob=date(2011, 3, 9))
    right = record("A81001", [(NHS_NUMBER_SYSTEM, NHS), ("urn:onestory:id:A81001:PAS", "G1")], 2)
    again = record("RX1", [(NHS_NUMBER_SYSTEM, NHS), ("urn:onestory:id:RX1:MR", "M1")], 3)
    first_date = record("990", [(NHS_NUMBER_SYSTEM, NHS), ("urn:onestory:id:990:LA", "L1")], 4, dob=date(2011, 3, 9))
    third_date = record("RX9", [(NHS_NUMBER_SYSTEM, NHS), ("urn:onestory:id:RX9:MR", "Z1")], 5, dob=date(2011, 4, 3))
    a, b, b_again, a_again, c = hub.ingest(wrong, right, again, first_date, third_date)
    assert b_again == b and a_again == a and a != b, "each record joins the child with its birth date"
    assert c not in (a, b), "a third birth date is a new conflict"
    reviews = hub.reviews()
    assert [(r.child_a, r.child_b, r.reason, r.status) for r in reviews] == [
        (a, b, "nhs-dob-conflict", "open"),
        (a, c, "nhs-dob-conflict", "open"),
    ]


def test_a_record_linked_by_identifier_that_scores_a_link_with_another_child_merges_them(hub: Hub) -> None:
    """The hospital's record (no birth date, an old address) was only a review against the school's child; the GP
    record carries the hospital's NHS number and agrees with the school's record on everything: one child."""
    school = record("100001", [(UPN_SYSTEM, UPN), ("urn:onestory:id:100001:MIS", "S1")], 1)
    acute = record("RX4", [(NHS_NUMBER_SYSTEM, NHS), ("urn:onestory:id:RX4:MR", "A1")], 2, dob=None, postcode="BD3 9ZZ")
    gp = record("A81001", [(NHS_NUMBER_SYSTEM, NHS), ("urn:onestory:id:A81001:PAS", "G1")], 3)
    a, b, _ = hub.ingest(school, acute, gp)
    assert a != b
    with hub.engine.connect() as conn:
        now_of = {r.record_key: r.child_id for r in conn.execute(select(identity_records))}
        decisions = list(conn.execute(select(identity_decisions)))
    assert set(now_of.values()) == {b}, "school, hospital and GP records are one child"
    assert [(d.kind, d.source, d.surviving_child_id, d.retired_child_id) for d in decisions] == [
        ("link", "registry", b, a)
    ]
    assert [(r.reason, r.status, r.decided_by) for r in hub.reviews()] == [("score", "linked", "onestory-registry")]


def test_a_possible_twin_is_not_joined_by_a_record_of_the_other_child(hub: Hub) -> None:
    """The same, but the hospital's record looks like a twin (another given name): that stays for a steward."""
    school = record("100001", [(UPN_SYSTEM, UPN), ("urn:onestory:id:100001:MIS", "S1")], 1)
    acute = record("RX4", [(NHS_NUMBER_SYSTEM, NHS), ("urn:onestory:id:RX4:MR", "A1")], 2, given="Anara")
    gp = record("A81001", [(NHS_NUMBER_SYSTEM, NHS), ("urn:onestory:id:A81001:PAS", "G1")], 3)
    a, b, b_gp = hub.ingest(school, acute, gp)
    assert a != b == b_gp
    assert [(r.reason, r.status) for r in hub.reviews()] == [("possible-twin", "open")]


def test_a_child_with_another_upn_is_never_scored_as_the_same_child(hub: Hub) -> None:
    other_upn = synth_ids.upn(random.Random(4), "801")
    assert other_upn != UPN
    first = record("100001", [(UPN_SYSTEM, UPN), ("urn:onestory:id:100001:MIS", "S1")], 1)
    namesake = record("100002", [(UPN_SYSTEM, other_upn), ("urn:onestory:id:100002:MIS", "S9")], 2)
    a, b = hub.ingest(first, namesake)
    assert a != b and hub.reviews() == []


def test_steward_merge_and_unmerge_reproject_exactly_the_right_entries(hub: Hub) -> None:
    first = record("RX1", [(NHS_NUMBER_SYSTEM, NHS), ("urn:onestory:id:RX1:MR", "M1")], 1)
    duplicate = record("RX1", [("urn:onestory:id:RX1:MR", "M2")], 2, dob=date(2011, 4, 3), postcode="BD3 9ZZ")
    a, b = hub.ingest(first, duplicate)
    assert a != b
    (item,) = [r for r in hub.reviews() if r.status == "open"]
    assert item.reason == "score" and {item.child_a, item.child_b} == {a, b}
    now = datetime.now(UTC)
    with hub.engine.begin() as conn:
        done = review.decide(conn, item.review_id, "link", STEWARD, "same DOB in the paper record", now, REPROJECT)
    assert hub.entries(a) == {first["event_id"], duplicate["event_id"]} and hub.entries(b) == set()
    later = record("RX1", [("urn:onestory:id:RX1:MR", "M2")], 3, dob=date(2011, 4, 3), postcode="BD3 9ZZ")
    later["subject"]["postcode"] = "BD3 9ZY"  # another record of the duplicate, after the merge
    later["source"]["organisation"] = "RX1"
    (c,) = hub.ingest(later)
    with hub.engine.connect() as conn:
        assert conn.execute(select(children.c.child_id).where(children.c.child_id == b)).first() is None
    with hub.engine.begin() as conn, pytest.raises(review.AlreadyDecided):
        review.decide(conn, item.review_id, "not-same", STEWARD, "again", now)
    with hub.engine.begin() as conn:
        undone = review.undo_merge(conn, done["mergeId"], STEWARD, "paper record was wrong", now, REPROJECT)
    assert undone == {"mergeId": done["mergeId"], "childId": a, "restoredChildId": b}
    assert hub.entries(a) == {first["event_id"]}
    assert hub.entries(b) == {duplicate["event_id"]} | ({later["event_id"]} if c == a else set())
    with hub.engine.connect() as conn:
        kinds = [
            r.kind for r in conn.execute(select(identity_decisions.c.kind).order_by(identity_decisions.c.decided_at))
        ]
        actions = list(conn.execute(select(audit_log.c.action)).scalars())
    assert kinds == ["link", "unmerge"]
    assert "identity-link" in actions and "identity-unlink" in actions
    assert hub.ingest(record("RX1", [("urn:onestory:id:RX1:MR", "M2")], 9, dob=date(2011, 4, 3)))[0] == b


def test_adt_a40_merge_moves_the_retired_record(hub: Hub) -> None:
    first = record("RX1", [(NHS_NUMBER_SYSTEM, NHS), ("urn:onestory:id:RX1:MR", "M1")], 1)
    duplicate = record("RX1", [("urn:onestory:id:RX1:MR", "M2")], 2, given="Ada", dob=date(2012, 1, 1))
    a, b = hub.ingest(first, duplicate)
    assert a != b
    merge = event(
        "patient.merged",
        "demographics",
        "RX1",
        "Merge",
        {
            "retired_identifiers": [{"system": "urn:onestory:id:RX1:MR", "value": "M2", "validated": True}],
            "reason": None,
        },
        n=3,
        day=3,
    )
    merge["subject"] = subject([(NHS_NUMBER_SYSTEM, NHS), ("urn:onestory:id:RX1:MR", "M1")])
    (survivor,) = hub.ingest(merge)
    assert survivor == a
    assert hub.entries(a) == {first["event_id"], duplicate["event_id"], merge["event_id"]}
    assert hub.entries(b) == set()


def test_synthetic_population_links_without_wrong_merges(hub: Hub) -> None:
    population = generate_population(150, seed=11)
    records = generate_records(population)
    now = datetime.now(UTC)
    with hub.engine.begin() as conn:
        resolved = [hub.registry.resolve(conn, r.subject(), r.organisation, now).child_id for r in records]
    people: dict[str, set[int]] = {}
    for rec, child in zip(records, resolved, strict=True):
        people.setdefault(child, set()).add(rec.child_index)
    assert all(len(p) == 1 for p in people.values()), "no child id holds two different synthetic children"
    assert len(people) < len(records) * 0.6, "most records were linked"


def test_candidate_search_skips_an_oversized_block_in_the_query(hub: Hub) -> None:
    """Only blocks within the limit are read; a record in a small and an oversized block is found once."""

    def rec(key: str) -> dict[str, Any]:
        return {
            "record_key": key,
            "child_id": f"child-{key}",
            "source_org": "RX1",
            "identifiers": [],
            "invalid_identifiers": [],
            "given_name": "g",
            "family_name": "f",
            "birth_date": date(2011, 3, 4),
            "sex": "F",
            "postcode": "",
            "first_seen": datetime.now(UTC),
        }

    small, large = ["a1", "a2", "a3"], ["a3", "b1", "b2", "b3"]
    with hub.engine.begin() as conn:
        conn.execute(identity_records.insert(), [rec(k) for k in sorted({*small, *large})])
        conn.execute(
            identity_blocks.insert(),
            [{"block_key": "small", "record_key": k} for k in small]
            + [{"block_key": "large", "record_key": k} for k in large],
        )
        found = Lookups(conn).candidates(["small", "large", "absent"], limit=3)
        at_four = Lookups(conn).candidates(["large"], limit=4)
    assert [r[0] for r in found] == small
    assert found[0][1:5] == ("child-a1", "g", "f", date(2011, 3, 4))
    assert [r[0] for r in at_four] == large
