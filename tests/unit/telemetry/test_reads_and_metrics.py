"""Reads, audit and metrics carry roles, levels and organisation types: closed vocabularies, never people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from hub.telemetry import event_traces
from hub.telemetry.metrics import count_deadletters, count_events_in, label, observe_projected
from hub.telemetry.spans import audit_span, read_span
from tests.unit.telemetry.conftest import Captured


def test_read_span_counts_decisions_and_reads_by_role(captured: Captured) -> None:
    with read_span("timeline", "gp", "direct-care") as read, audit_span("read", "success", 2):
        read.decisions(["full", "none", "full"])
    span = captured.span("read timeline")
    assert dict(span.attributes or {}) == {
        "onestory.read.action": "timeline",
        "onestory.viewer.role": "gp",
        "onestory.viewer.purpose": "direct-care",
        "onestory.disclosure.full": 2,
        "onestory.disclosure.none": 1,
    }
    audit = captured.span("audit append")
    assert audit.parent is not None and audit.parent.span_id == span.context.span_id
    decisions = {p.attributes["level"]: p.value for p in captured.points("onestory.disclosure.decisions")}
    assert decisions == {"full": 2, "none": 1}
    reads = [(dict(p.attributes), p.value) for p in captured.points("onestory.reads")]
    assert reads == [({"role": "gp", "action": "timeline", "outcome": "success"}, 1)]


def test_a_role_outside_the_vocabulary_is_reported_as_other(captured: Captured) -> None:
    with pytest.raises(KeyError), read_span("timeline", "Dr Amara Okafor", "whatever"):
        raise KeyError("boom")
    attrs = dict(captured.span("read timeline").attributes or {})
    assert attrs["onestory.viewer.role"] == "other" and attrs["onestory.viewer.purpose"] == "other"
    (point,) = captured.points("onestory.reads")
    assert dict(point.attributes) == {"role": "other", "action": "timeline", "outcome": "error"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("acute-trust", "acute-trust"), ("Okafor", "other"), ("9434765870", "other"), (None, "unknown"), ("", "other")],
)
def test_organisation_type_labels_come_from_a_closed_vocabulary(
    captured: Captured, value: str | None, expected: str
) -> None:
    count_events_in([{"source": {"organisation_type": value}}])
    (point,) = captured.points("onestory.events.in")
    assert dict(point.attributes) == {"source.organisation_type": expected}


def test_free_tokens_must_look_like_tokens() -> None:
    assert label("parse") == "parse"
    assert label("LS1 4AP") == "other"
    assert label("x" * 41) == "other"


def test_projection_latency_is_measured_from_recorded_at_to_commit(captured: Captured) -> None:
    committed = datetime(2026, 11, 1, 9, 0, 5, tzinfo=UTC)
    events = [
        {"source": {"organisation_type": "school"}, "recorded_at": committed - timedelta(seconds=s)} for s in (1, 3)
    ]
    observe_projected("projector.timeline", events, committed_at=committed.timestamp())
    (histogram,) = captured.points("onestory.projection.latency")
    assert histogram.count == 2 and histogram.sum == pytest.approx(4.0)
    assert dict(histogram.attributes) == {"source.organisation_type": "school", "projector": "projector.timeline"}
    (out,) = captured.points("onestory.events.out")
    assert out.value == 2


def test_dead_letters_are_counted_by_connector_and_phase(captured: Captured) -> None:
    count_deadletters([{"connector": "hl7v2", "phase": "parse"}, {"connector": "hl7v2", "phase": "parse"}])
    (point,) = captured.points("onestory.deadletters")
    assert (dict(point.attributes), point.value) == ({"connector": "hl7v2", "phase": "parse"}, 2)


def test_a_read_links_to_the_ingest_traces_of_the_entries_it_disclosed(captured: Captured, tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'traces.db'}")
    event_traces.metadata.create_all(engine)
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    headers = [[("traceparent", parent.encode())], [], [("traceparent", b"garbage")]]
    assert event_traces.remember(engine, headers, ["e1", "e2", "e3"]) == 1
    assert event_traces.remember(engine, headers[:1], ["e1"]) == 0  # redelivery: first one wins
    with read_span("timeline", "gp", "direct-care") as read:
        read.link_events(engine, ["e1", "e2", "e3", "e1"])
    (link,) = captured.span("read timeline").links
    assert format(link.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert dict(link.attributes or {}) == {"onestory.link": "ingest"}


def test_trace_links_never_fail_a_read(captured: Captured, tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no event_traces table
    assert (
        event_traces.remember(engine, [[("traceparent", b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01")]], ["e"]) == 0
    )
    with read_span("timeline", "gp", "direct-care") as read:
        read.link_events(engine, ["e"])
    assert captured.span("read timeline").links == ()
