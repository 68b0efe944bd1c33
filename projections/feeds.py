"""Outbound feeds: after the projector has applied a batch, tell each recipient what changed for it.

A recipient is an organisation's feed (configured in hub/outbound/subscribers.yaml, received as one viewer
class) or a FHIR rest-hook subscription (registered through the API, received as the registering token's
class). For every child touched by the batch, the consent engine decides each entry for each recipient
exactly as a read would (`hub.read.disclosure.level_for`, shaped by `disclose`), `hub.outbound.feed_plan`
diffs that with what the recipient holds, and the records, the new holdings, the audit records and the
tracked offsets commit in one transaction. The outbox relay then publishes them.

The batch waits until the projector's tracked offsets have reached it, so the projections it reads include
every event of the batch. A child whose consent change is accepted but not yet applied is skipped: that
consent event is later in the same partition, and its batch re-examines the child.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from consent_engine import Level, Policy, Viewer
from hub.db.feed_tables import feed_disclosures
from hub.db.projection_tables import child_now
from hub.outbound.alert_rules import ChildFacts, councils_of, event_alerts
from hub.outbound.config import OutboundConfig
from hub.outbound.dispatch import (
    active_subscriptions,
    audit_disclosure,
    feed_record,
    out_topic,
    queue_feed_record,
    queue_notice,
    raise_alerts,
)
from hub.outbound.feed_codec import FeedCodec
from hub.outbound.feed_plan import HELD, RETRACTED, Op, Sent, Visible, audit_entries, plan
from hub.outbound.fhir_subscription import Notice, matches
from hub.read import children
from hub.read.disclosure import ChildContext, disclose, level_for, load_context
from projections.consent_records import CONSENT_KINDS
from projections.rules import payload_of
from projections.sql_sink import Consumed, advance_tracking, tracked_offsets, unseen

log = logging.getLogger(__name__)
FEEDS = "outbound.feeds"
PROJECTOR = "projector.timeline"


@dataclass(frozen=True)
class Recipient:
    key: str
    viewer: Viewer
    subscription: dict[str, Any] | None = None


def projector_caught_up(engine: Engine, topic_ids: dict[str, str], records: Sequence[Consumed]) -> bool:
    """True once the projector has tracked every (topic, partition) of the batch at or past its offsets."""
    wanted: dict[tuple[str, int], int] = {}
    for rec in records:
        wanted[(rec.topic, rec.partition)] = max(wanted.get((rec.topic, rec.partition), -1), rec.offset)
    with engine.connect() as conn:
        for (topic, partition), offset in wanted.items():
            if tracked_offsets(conn, PROJECTOR, topic_ids[topic]).get(partition, -1) < offset:
                return False
    return True


async def wait_for_projector(engine: Engine, topic_ids: dict[str, str], records: Sequence[Consumed]) -> None:
    delay = 0.02
    while not await asyncio.to_thread(projector_caught_up, engine, topic_ids, records):
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.5)


def _recipients(config: OutboundConfig, subs: list[dict[str, Any]]) -> list[Recipient]:
    out = [
        Recipient(s.recipient, Viewer(f"feed:{s.organisation}", s.organisation, s.role, s.purpose))
        for s in config.subscribers
    ]
    out += [
        Recipient(f"subscription:{s['id']}", Viewer(s["user_id"], s["organisation"], s["role"], s["purpose"]), s)
        for s in subs
    ]
    return out


def _sent(conn: Connection, child_id: str) -> dict[str, dict[str, Sent]]:
    held: dict[str, dict[str, Sent]] = {}
    for r in conn.execute(select(feed_disclosures).where(feed_disclosures.c.child_id == child_id)):
        held.setdefault(r.recipient, {})[r.entry_id] = Sent(r.level, r.record_id)
    return held


def _held(sent: dict[str, Sent]) -> set[str]:
    return {entry_id for entry_id, s in sent.items() if s.level in HELD}


def _remember(
    conn: Connection, recipient: Recipient, child_id: str, ops: list[Op], now: datetime, policy_version: str
) -> None:
    for op in ops:
        values = {
            "child_id": child_id,
            "organisation": recipient.viewer.organisation,
            "level": op.level if op.op == "disclose" else RETRACTED,
            "record_id": op.record_id,
            "policy_version": policy_version,
            "updated_at": now,
        }
        done = conn.execute(
            feed_disclosures.update()
            .where(
                feed_disclosures.c.recipient == recipient.key,
                feed_disclosures.c.entry_id == op.entry_id,
            )
            .values(**values)
        ).rowcount
        if not done:
            conn.execute(feed_disclosures.insert().values(recipient=recipient.key, entry_id=op.entry_id, **values))


def _facts(conn: Connection, ctx: ChildContext, policy: Policy) -> ChildFacts:
    state = conn.execute(select(child_now.c.state).where(child_now.c.child_id == ctx.child_id)).scalar() or {}
    open_types = frozenset(str(p.get("plan_type")) for p in (state.get("plans") or {}).values() if p.get("open"))
    org_types = {code: org.type for code, org in policy.organisations.items()}
    return ChildFacts(ctx.child_id, open_types, councils_of(ctx.team, org_types))


def _send(
    conn: Connection,
    codec: FeedCodec,
    recipient: Recipient,
    child_id: str,
    ops: list[Op],
    rows: dict[str, dict[str, Any]],
    held: dict[str, Sent],
    involved: bool,
    policy: Policy,
    now: datetime,
) -> list[Op]:
    """Queue a recipient's ops on its channel; returns the ops it was actually sent (a filter may drop some)."""
    viewer = recipient.viewer
    if recipient.subscription is None:
        for op in ops:
            queue_feed_record(
                conn,
                codec,
                feed_record(
                    op.op,
                    viewer.organisation,
                    child_id,
                    op.entry_id,
                    op.level,
                    op.record_id,
                    now,
                    policy.version,
                    op.reason,
                    op.content,
                ),
                now,
            )
        return ops
    sub, sent, before = recipient.subscription, [], _held(held)
    for op in ops:
        row = rows.get(op.entry_id, {})
        notice = Notice(
            child_id,
            op.op,
            op.level,
            op.entry_id,
            row.get("kind"),
            row.get("category"),
            first=op.op == "disclose" and op.entry_id not in before,
            content=op.content or {},
        )
        # A retraction always reaches a subscription that holds the entry: it passed the filter when sent.
        if op.op == "retract" or matches(sub["topic"], sub["filters"], notice, involved):
            queue_notice(conn, sub, notice, now)
            sent.append(op)
    return sent


def process_child(
    conn: Connection,
    policy: Policy,
    codec: FeedCodec,
    recipients: list[Recipient],
    child_id: str,
    batch_entries: set[str],
    widened: dict[str, datetime] | None,
    now: datetime,
) -> int:
    """Disclose, re-level and retract one child's entries for every recipient; returns the records sent.

    Only the batch's entries, and held entries that left the record, can change for a recipient, unless its
    view may have widened: a consent change (`widened` is None: everyone) or its organisation joining the team
    around the child in this batch (`widened` maps each source organisation to its earliest event here; one
    whose membership starts no earlier joined now). Then every entry of the child is considered. Deciding
    only what can change keeps the cost per batch proportional to the batch, not to the child's history.
    """
    ctx = load_context(conn, child_id)
    if ctx.updating:
        return 0
    rows = {r["entry_id"]: r for r in children.timeline(conn, child_id)}
    held = _sent(conn, child_id)
    team_orgs = {m["organisation"] for m in ctx.team if m.get("until") is None}
    joined = (
        None
        if widened is None
        else {
            m["organisation"]
            for m in ctx.team
            if m["organisation"] in widened and m["since"] >= widened[m["organisation"]]
        }
    )
    count = 0
    for recipient in recipients:
        mine = held.get(recipient.key, {})
        everything = joined is None or recipient.viewer.organisation in joined
        if everything:
            consider, holding = set(rows), mine
        else:
            consider = (batch_entries & set(rows)) | (set(mine) - set(rows))
            holding = {entry_id: mine[entry_id] for entry_id in consider if entry_id in mine}
        visible: dict[str, Visible] = {}
        for entry_id in consider & set(rows):
            decision = level_for(policy, ctx, recipient.viewer, rows[entry_id], now)
            shaped = disclose(rows[entry_id], decision) if decision.level is not Level.NONE else None
            visible[entry_id] = Visible(decision, shaped)
        ops = plan(recipient.key, visible, holding, None, frozenset(rows))
        if not ops:
            continue
        sent = _send(
            conn, codec, recipient, child_id, ops, rows, mine, recipient.viewer.organisation in team_orgs, policy, now
        )
        _remember(conn, recipient, child_id, sent, now, policy.version)
        if sent:
            viewer = recipient.viewer
            channel = out_topic(viewer.organisation) if recipient.subscription is None else recipient.key
            reasons = sorted(
                {op.decision.basis for op in sent if op.decision and op.decision.basis}
                | {op.reason for op in sent if op.reason}
            )
            audit_disclosure(
                conn,
                recipient=recipient.key,
                organisation=viewer.organisation,
                role=viewer.role,
                purpose=viewer.purpose,
                child_id=child_id,
                entries=audit_entries(sent),
                policy_version=policy.version,
                channel=channel,
                now=now,
                reason="; ".join(reasons) or "outbound feed",
                detail={"retracted": [op.entry_id for op in sent if op.op == "retract"]},
            )
            count += len(sent)
    return count


def process_batch(
    engine: Engine,
    policy: Policy,
    config: OutboundConfig,
    codec: FeedCodec,
    topic_ids: dict[str, str],
    records: Sequence[Consumed],
) -> int:
    """Feed records, notifications and alerts for a batch, with tracking, in one transaction."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        fresh = unseen(conn, FEEDS, topic_ids, records)
        by_child: dict[str, list[dict[str, Any]]] = {}
        for rec in fresh:
            by_child.setdefault(rec.event["child_id"], []).append(dict(rec.event))
        subs = active_subscriptions(conn)
        recipients = _recipients(config, subs)
        sent = 0
        for child_id, events in by_child.items():
            consent_changed = any(e["kind"] in CONSENT_KINDS for e in events)
            widened: dict[str, datetime] | None = None
            if not consent_changed:
                widened = {}
                for e in events:
                    org, at = str(e["source"]["organisation"]), e["occurred_at"]
                    widened[org] = min(widened.get(org, at), at)
            batch = {e["event_id"] for e in events}
            sent += process_child(conn, policy, codec, recipients, child_id, batch, widened, now)
            ctx = load_context(conn, child_id)
            facts = _facts(conn, ctx, policy)
            alerts = []
            for event in events:
                source_type = event["source"].get("organisation_type") or getattr(
                    policy.organisations.get(event["source"]["organisation"]), "type", None
                )
                alerts += event_alerts(config.alerts, facts, event, payload_of(event), source_type)
            sent += raise_alerts(conn, config, codec, alerts, subs, now)
        advance_tracking(conn, FEEDS, topic_ids, records)
        return sent
