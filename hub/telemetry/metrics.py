"""The hub's metrics, labelled by kinds of things (organisation type, role, level), never by child.

Every label value passes through :func:`label`. Values that come from outside (a source's organisation
type, a token's role or purpose) must belong to a closed vocabulary, the one the default data-sharing
policy uses; anything else is reported as ``other``, so a label can never carry a name, an identifier or
free text whatever a source or an identity provider puts in the field. Values OneStory's own code sets
(connector, phase, topic) need only be short lower-case tokens.
Counts follow the at-least-once pipeline: a redelivered batch is counted again.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import Counter, Histogram, Meter, _Gauge

_TOKEN = re.compile(r"^[a-z][a-z0-9._-]{0,39}$")
ORGANISATION_TYPES = frozenset(
    {"gp-practice", "camhs", "acute-trust", "community-health", "school", "local-authority", "vcse", "hub"}
)
ROLES = frozenset(
    {
        "gp",
        "camhs-clinician",
        "school-nurse",
        "school-dsl",
        "teacher",
        "social-worker",
        "vcse-worker",
        "ig-officer",
        "system",
    }
)
PURPOSES = frozenset({"direct-care", "safeguarding", "audit"})
LEVELS = frozenset({"none", "flag", "summary", "full"})
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def label(value: object, vocabulary: frozenset[str] | None = None) -> str:
    """A safe label: a member of ``vocabulary`` (or, without one, a short token), else ``other``."""
    if value is None:
        return "unknown"
    text = str(value).strip().lower()
    if vocabulary is not None:
        return text if text in vocabulary else "other"
    return text if _TOKEN.match(text) else "other"


@dataclass(frozen=True)
class HubMetrics:
    events_in: Counter
    events_out: Counter
    deadletters: Counter
    consumer_lag: _Gauge
    projection_latency: Histogram
    decisions: Counter
    reads: Counter

    @classmethod
    def create(cls, meter: Meter) -> HubMetrics:
        return cls(
            events_in=meter.create_counter(
                "onestory.events.in", "{event}", "Events accepted from sources, by source organisation type"
            ),
            events_out=meter.create_counter(
                "onestory.events.out", "{event}", "Events projected to the read side, by source organisation type"
            ),
            deadletters=meter.create_counter(
                "onestory.deadletters", "{message}", "Inputs kept in the dead-letter store, by connector and phase"
            ),
            consumer_lag=meter.create_gauge(
                "onestory.consumer.lag", "{record}", "Records not yet processed, per consumer, topic and partition"
            ),
            projection_latency=meter.create_histogram(
                "onestory.projection.latency",
                "s",
                "From an event's recorded_at to its projection commit",
                explicit_bucket_boundaries_advisory=list(LATENCY_BUCKETS),
            ),
            decisions=meter.create_counter(
                "onestory.disclosure.decisions", "{decision}", "Read-time disclosure decisions, by level"
            ),
            reads=meter.create_counter("onestory.reads", "{request}", "Reads of the record, by viewer role and action"),
        )


@functools.cache
def hub_metrics() -> HubMetrics:
    """Instruments from the global meter provider (a no-op until telemetry is configured)."""
    return HubMetrics.create(metrics.get_meter("onestory"))


def _org_type(event: Mapping[str, Any]) -> str:
    return label((event.get("source") or {}).get("organisation_type"), ORGANISATION_TYPES)


def count_events_in(events: Iterable[Mapping[str, Any]]) -> None:
    counter = hub_metrics().events_in
    for event in events:
        counter.add(1, {"source.organisation_type": _org_type(event)})


def observe_projected(projector: str, events: Iterable[Mapping[str, Any]], committed_at: float | None = None) -> None:
    """Count projected events and how long each took from ``recorded_at`` to the commit that just happened.

    Per batch, events are counted once per label set (a counter's sum is the same) and the labels are worked
    out once per organisation type seen; each latency is still recorded on its own.
    """
    committed = time.time() if committed_at is None else committed_at
    m = hub_metrics()
    projector_label = label(projector)
    labels: dict[Any, dict[str, str]] = {}
    counts: dict[str, int] = {}
    for event in events:
        raw = (event.get("source") or {}).get("organisation_type")
        attrs = labels.get(raw) if isinstance(raw, str | None) else None
        if attrs is None:
            attrs = {"source.organisation_type": label(raw, ORGANISATION_TYPES), "projector": projector_label}
            if isinstance(raw, str | None):
                labels[raw] = attrs
        org_type = attrs["source.organisation_type"]
        counts[org_type] = counts.get(org_type, 0) + 1
        recorded = event.get("recorded_at")
        if isinstance(recorded, datetime):
            m.projection_latency.record(max(0.0, committed - recorded.timestamp()), attrs)
    for org_type, count in counts.items():
        m.events_out.add(count, {"source.organisation_type": org_type, "projector": projector_label})


def count_deadletters(rows: Iterable[Mapping[str, Any]]) -> None:
    counter = hub_metrics().deadletters
    for row in rows:
        counter.add(1, {"connector": label(row.get("connector")), "phase": label(row.get("phase"))})


def record_lag(consumer: str, topic: str, partition: int, lag: int) -> None:
    hub_metrics().consumer_lag.set(
        max(0, lag), {"consumer": label(consumer), "topic": label(topic), "partition": int(partition)}
    )


def count_decision(level: str, n: int = 1) -> None:
    hub_metrics().decisions.add(n, {"level": label(level, LEVELS)})


def count_read(role: str, action: str, outcome: str) -> None:
    hub_metrics().reads.add(1, {"role": label(role, ROLES), "action": label(action), "outcome": label(outcome)})
