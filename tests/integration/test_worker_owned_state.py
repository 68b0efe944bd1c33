"""What the worker keeps of its children between steps and batches changes nothing it writes.

The projection step hands the outbound feeds of the same batch each child's consent-engine inputs as its
transaction left them, and both steps remember decisions across batches (hub.disclosure.decision_memo). Run
over interleaved children with consent changes (a withdrawal, a consent recorded again under the same id, a
competence assessment) and a correction, on SQLite and PostgreSQL, that must write exactly what reading
everything back from the database writes: the same timeline decisions, holdings, feed records, notifications
and audit records; and every handed-over context must equal what the feeds would read.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from hub.db.tables import timeline_entries
from hub.disclosure.decide import ChildContext
from hub.disclosure.decision_memo import DecisionMemo
from hub.outbound.feed_inputs import load_contexts
from hub.outbound.feeds import process_batch
from projections.child_projector import project_batch
from projections.sql_sink import Consumed
from tests.integration.test_outbound_batch import (
    CODEC,
    CONFIG,
    FEED_CODEC,
    POLICY,
    RULES,
    TOPIC,
    TOPICS,
    _batches,
    _engine,
    _observed,
)
from tests.support.events import event

pytestmark = pytest.mark.integration


def _consent_changes(batches: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """A withdrawal for one child, its consent recorded again (same id) for another, a competence assessment
    (recorded in the past: the engine ignores what is recorded after the moment of deciding)."""
    children = list(dict.fromkeys(e["child_id"] for e in batches[0]))
    given = {e["child_id"]: e for e in batches[0] if e["kind"] == "consent.given"}
    camhs = ("RX4", "camhs")

    def change(kind: str, record: str, fields: dict[str, Any], child: str, day: float) -> dict[str, Any]:
        category = "consent" if kind.startswith("consent") else "assessment"
        return event(kind, category, camhs[0], record, fields, child_id=child, day=day, org_type=camhs[1])

    first = given[children[0]]["payload"][1]["consent_id"]
    again = dict(given[children[1]]["payload"][1])
    batches[1].append(
        change(
            "consent.withdrawn",
            "Consent",
            {
                "consent_id": "W-1",
                "status": "withdrawn",
                "withdraws": first,
                "given_by": "young-person",
                "recorded_by": "camhs-clinician",
            },
            children[0],
            -100,
        )
    )
    again["categories"] = ["attendance"]
    batches[1].append(
        change("consent.given", "Consent", {k: v for k, v in again.items() if v is not None}, children[1], -99)
    )
    batches[2].append(
        change(
            "competence.assessed",
            "Competence",
            {
                "assessment_id": "A-1",
                "outcome": "competent",
                "decision": "information-sharing",
                "categories": ["attendance"],
                "assessed_by": "camhs-clinician",
                "assessed_at": batches[0][0]["occurred_at"],
                "framework": "gillick",
            },
            children[2],
            -98,
        )
    )
    return batches


def _run(engine: Engine, batches: list[list[dict[str, Any]]], owned: bool) -> list[dict[str, ChildContext]]:
    """Project and feed each batch, as the worker's projection step does; returns the contexts handed over."""
    offset, handed = 0, []
    project_memo, feed_memo = DecisionMemo(), DecisionMemo()
    for events in batches:
        records = []
        for e in events:
            body = CODEC.encode(e)
            records.append(Consumed(TOPIC, 0, offset, body, CODEC.decode(body)))
            offset += 1
        if owned:
            contexts: dict[str, ChildContext] = {}
            project_batch(engine, POLICY, RULES, "projector.timeline", TOPICS, records, project_memo, contexts)
            process_batch(engine, POLICY, CONFIG, FEED_CODEC, TOPICS, records, contexts, feed_memo)
            handed.append(contexts)
        else:
            project_batch(engine, POLICY, RULES, "projector.timeline", TOPICS, records)
            process_batch(engine, POLICY, CONFIG, FEED_CODEC, TOPICS, records)
        if owned:
            with engine.connect() as conn:
                read = load_contexts(conn, list(contexts))
            for child_id, ctx in contexts.items():
                stored = read[child_id]
                assert ctx.consents == stored.consents, child_id
                assert set(ctx.relationships) == set(stored.relationships), child_id
                # the team's order means nothing to the feeds (sets of organisations, councils sorted)
                assert sorted(_member(m) for m in ctx.team) == sorted(_member(m) for m in stored.team), child_id
    return handed


def _member(m: dict[str, Any]) -> tuple[Any, ...]:
    return (m["organisation"], m["organisation_type"], m["since"], m["until"], m["role"], m["worker"], m["contact"])


def _decisions(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        t = timeline_entries.c
        return [tuple(r) for r in conn.execute(select(t.entry_id, t.status, t.decisions).order_by(t.entry_id))]


def test_handed_over_state_and_remembered_decisions_write_what_reading_back_writes(
    database_url: str, tmp_path: Any
) -> None:
    batches = _consent_changes(_batches())
    owned = _engine(database_url)
    read_back = _engine(f"sqlite:///{tmp_path / 'read-back.db'}")
    handed = _run(owned, batches, owned=True)
    _run(read_back, batches, owned=False)
    assert all(handed) and any(c.consents for batch in handed for c in batch.values())
    assert _decisions(owned) == _decisions(read_back)
    got, want = _observed(owned), _observed(read_back)
    assert got == want and got["outbox"] and got["audits"]
    retracted = {r["reason"] for _, _, r in got["outbox"] if r["op"] == "retract"}
    assert "no-longer-permitted" in retracted  # the withdrawal took something back
    owned.dispose()
    read_back.dispose()
