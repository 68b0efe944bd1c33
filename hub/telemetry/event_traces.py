"""Where each projected event's ingest trace lives, so that a practitioner's read can link to it.

A read is its own trace (the practitioner's request), long after the event's ingest trace has ended; the
read span carries span links to the ingest traces of the entries it disclosed, which is how one trace view
shows an HL7 message from the socket to the read. Only W3C ids are stored. Writing is skipped when records
carry no trace context, and nothing here may fail the pipeline or the read: errors are logged and dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from opentelemetry.trace import Link, SpanContext, TraceFlags
from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, select
from sqlalchemy.exc import SQLAlchemyError

from hub.db.upsert import insert_ignore
from hub.telemetry.propagation import traceparent

log = logging.getLogger(__name__)
MAX_LINKS = 32
_W3C = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

metadata = MetaData()
event_traces = Table(
    "event_traces",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("traceparent", String(55), nullable=False),
    Column("projected_at", DateTime(timezone=True), nullable=False),
)


def remember(engine: Engine, headers: Sequence[Any], event_ids: Sequence[str]) -> int:
    """Store the trace context each event arrived with (its Kafka headers), first one wins."""
    now = datetime.now(UTC)
    rows = []
    for event_headers, event_id in zip(headers, event_ids, strict=True):
        parent = traceparent(event_headers)
        if parent and _W3C.match(parent):
            rows.append({"event_id": event_id, "traceparent": parent, "projected_at": now})
    if not rows:
        return 0
    try:
        with engine.begin() as conn:
            return insert_ignore(conn, event_traces, rows)
    except SQLAlchemyError as exc:
        log.warning("event trace context not stored: %s", type(exc).__name__)
        return 0


def links_for(engine: Engine, event_ids: Sequence[str], limit: int = MAX_LINKS) -> list[Link]:
    """Links to the ingest traces of (at most ``limit``) events, read on a connection of their own."""
    wanted = list(dict.fromkeys(event_ids))[:limit]
    if not wanted:
        return []
    try:
        with engine.connect() as conn:
            found = conn.execute(
                select(event_traces.c.traceparent).where(event_traces.c.event_id.in_(wanted))
            ).scalars()
            parents = list(found)
    except SQLAlchemyError as exc:
        log.warning("event trace links not read: %s", type(exc).__name__)
        return []
    links = []
    for parent in parents:
        match = _W3C.match(parent)
        if match:
            context = SpanContext(
                int(match[1], 16), int(match[2], 16), is_remote=True, trace_flags=TraceFlags(int(match[3], 16))
            )
            links.append(Link(context, {"onestory.link": "ingest"}))
    return links
