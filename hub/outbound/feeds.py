"""Outbound feeds: after the projector has applied a batch, tell each recipient what changed for it.

A recipient is an organisation's feed (configured in hub/outbound/subscribers.yaml, received as one viewer
class) or a FHIR rest-hook subscription (registered through the API, received as the registering token's
class). For every child touched by the batch, the consent engine decides each entry for each recipient
exactly as a read would (`hub.disclosure.decide.level_for`, which is `decide` for a child not updating;
shaped by `disclose`), `hub.outbound.feed_plan` diffs that with what the recipient holds, and the records,
the new holdings, the audit records and the tracked offsets commit in one transaction. The outbox relay then
publishes them.

The worker calls it on the projection thread right after the projector has committed the same batch, so the
projections it reads include every event of the batch. A child whose consent change is accepted but not yet
applied is skipped: that consent event is later in the same partition, and its batch re-examines the child.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from consent_engine import Decision, Entry, Level, Policy, Viewer, decide
from hub.disclosure.consent_records import CONSENT_STATE_KINDS
from hub.disclosure.decide import ChildContext, decision_key, disclose, entry_of
from hub.disclosure.decision_memo import DecisionMemo
from hub.disclosure.rules import payload_of
from hub.outbound.alert_rules import Alert, ChildFacts, councils_of, event_alerts
from hub.outbound.config import AlertPolicy, OutboundConfig
from hub.outbound.dispatch import (
    active_subscriptions,
    disclosure_record,
    encode_content,
    feed_record_of,
    out_topic,
    raise_alerts,
)
from hub.outbound.feed_codec import FeedCodec
from hub.outbound.feed_inputs import content_of, full_entry, known_contexts, load_inputs, now_states
from hub.outbound.feed_plan import HELD, Op, Sent, Visible, audit_entries, plan
from hub.outbound.feed_writes import FeedWrites
from hub.outbound.fhir_subscription import Notice, matches
from projections.sql_sink import Consumed, advance_tracking, unseen

log = logging.getLogger(__name__)
FEEDS = "outbound.feeds"


@dataclass(frozen=True)
class Recipient:
    key: str
    viewer: Viewer
    subscription: dict[str, Any] | None = None


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


def _widened(events: list[dict[str, Any]]) -> dict[str, datetime] | None:
    """None if the batch changes the child's consent or competence (every view may widen), else each source's
    first event."""
    if any(e["kind"] in CONSENT_STATE_KINDS for e in events):
        return None
    widened: dict[str, datetime] = {}
    for e in events:
        org, at = str(e["source"]["organisation"]), e["occurred_at"]
        widened[org] = min(widened.get(org, at), at)
    return widened


def _joined(ctx: ChildContext, widened: dict[str, datetime] | None) -> set[str] | None:
    """Organisations that joined the team around the child in this batch (None: every view may have widened)."""
    if widened is None:
        return None
    return {
        m["organisation"] for m in ctx.team if m["organisation"] in widened and m["since"] >= widened[m["organisation"]]
    }


def _send(
    writes: FeedWrites,
    recipient: Recipient,
    child_id: str,
    ops: list[Op],
    rows: dict[str, dict[str, Any]],
    held: dict[str, Sent],
    involved: bool,
    policy: Policy,
    now: datetime,
) -> list[Op]:
    """Queue a recipient's ops on its channel; returns the ops it was actually sent (a filter may drop some).

    A feed's disclosures get their content as JSON straight from the rows (`content_of`), without shaping
    an entry dict to encode; a subscription's notices need the shaped entry (`_shaped`).
    """
    viewer = recipient.viewer
    if recipient.subscription is None:
        for op in ops:
            content: str | None
            if op.op == "disclose" and op.decision is not None:
                content = content_of(rows[op.entry_id], op.decision, writes.fragments)
            else:
                content = None if op.content is None else encode_content(op.content)
            writes.feed(
                feed_record_of(
                    op.op,
                    viewer.organisation,
                    child_id,
                    op.entry_id,
                    op.level,
                    op.record_id,
                    now,
                    policy.version,
                    op.reason,
                    content,
                )
            )
        return ops
    sub, sent = recipient.subscription, []
    ops = [_shaped(op, rows) for op in ops]
    for op in ops:
        row = rows.get(op.entry_id, {})
        before = held.get(op.entry_id)
        notice = Notice(
            child_id,
            op.op,
            op.level,
            op.entry_id,
            row.get("kind"),
            row.get("category"),
            first=op.op == "disclose" and (before is None or before.level not in HELD),
            content=op.content or {},
        )
        # A retraction always reaches a subscription that holds the entry: it passed the filter when sent.
        if op.op == "retract" or matches(sub["topic"], sub["filters"], notice, involved):
            writes.notify(sub, notice)
            sent.append(op)
    return sent


def _shaped(op: Op, rows: dict[str, dict[str, Any]]) -> Op:
    """A disclosure with its entry shaped for its level (the plan was made without shaping every entry)."""
    if op.op != "disclose" or op.decision is None:
        return op
    row = rows[op.entry_id]
    content = disclose(full_entry(row) if op.level == Level.FULL.value else row, op.decision)
    return Op(op.op, op.entry_id, op.level, op.record_id, content, op.decision, op.reason)


def disclose_child(
    writes: FeedWrites,
    policy: Policy,
    recipients: list[Recipient],
    ctx: ChildContext,
    rows: dict[str, dict[str, Any]],
    held: dict[str, dict[str, Sent]],
    batch_entries: set[str],
    joined: set[str] | None,
    now: datetime,
    memo: DecisionMemo | None = None,
) -> int:
    """Disclose, re-level and retract one child's entries for every recipient; returns the records sent.

    Only the batch's entries, and held entries that left the record, can change for a recipient, unless its
    view may have widened: a consent change (`joined` is None: everyone) or its organisation joining the team
    around the child in this batch (`joined` names them: a source organisation whose membership starts no
    earlier than its first event here). Then every entry of the child is considered, and `rows` holds them
    all; otherwise `rows` holds the batch's active entries and `held` what recipients hold of them and of
    entries gone from the record (`hub.outbound.feed_inputs.load_inputs`). Deciding only what can change
    keeps the cost per batch proportional to the batch, not to the child's history.
    """
    child_id = ctx.child_id
    present = frozenset(rows)
    team_orgs = {m["organisation"] for m in ctx.team if m.get("until") is None}
    keys: dict[str, tuple[Any, ...]] = {}
    entries: dict[tuple[Any, ...], Entry] = {}
    remembered = memo.for_child(child_id, ctx.consents, ctx.relationships, now) if memo is not None else {}
    count = 0
    for recipient in recipients:
        viewer = recipient.viewer
        mine = held.get(recipient.key, {})
        consider: frozenset[str] | set[str]
        if joined is None or viewer.organisation in joined:
            consider, holding = present, mine
        else:
            consider = (batch_entries & present) | (set(mine) - present)
            holding = {entry_id: mine[entry_id] for entry_id in consider if entry_id in mine}
        visible: dict[str, Visible] = {}
        decided: dict[tuple[Any, ...], Decision] = remembered.setdefault(viewer, {})
        for entry_id in consider & present:
            key = keys.get(entry_id)
            if key is None:
                key = keys[entry_id] = decision_key(rows[entry_id])
            decision = decided.get(key)
            if decision is None:
                entry = entries.get(key)
                if entry is None:
                    entry = entries[key] = entry_of(rows[entry_id])
                decision = decided[key] = decide(policy, ctx.consents, ctx.relationships, viewer, entry, now)
            visible[entry_id] = Visible(decision, None)  # shaped below, only for what is sent
        ops = plan(recipient.key, visible, holding, None, present)
        if not ops:
            continue
        sent = _send(writes, recipient, child_id, ops, rows, mine, viewer.organisation in team_orgs, policy, now)
        writes.remember(recipient.key, viewer.organisation, child_id, sent, policy.version)
        if sent:
            channel = out_topic(viewer.organisation) if recipient.subscription is None else recipient.key
            reasons = sorted(
                {op.decision.basis for op in sent if op.decision and op.decision.basis}
                | {op.reason for op in sent if op.reason}
            )
            writes.audit(
                disclosure_record(
                    recipient=recipient.key,
                    organisation=viewer.organisation,
                    role=viewer.role,
                    purpose=viewer.purpose,
                    child_id=child_id,
                    entries=audit_entries(sent),
                    policy_version=policy.version,
                    channel=channel,
                    reason="; ".join(reasons) or "outbound feed",
                    detail={"retracted": [op.entry_id for op in sent if op.op == "retract"]},
                )
            )
            count += len(sent)
    return count


def _may_alert(policy: AlertPolicy, event: dict[str, Any]) -> bool:
    """Whether some event rule could match the event's kind: only then are the child's facts worth reading."""
    return any(rule.on == "event" and (not rule.kinds or event["kind"] in rule.kinds) for rule in policy.rules)


def _alerts(
    config: OutboundConfig, policy: Policy, ctx: ChildContext, state: dict[str, Any], events: list[dict[str, Any]]
) -> list[Alert]:
    events = [e for e in events if _may_alert(config.alerts, e)]
    if not events:
        return []
    open_types = frozenset(str(p.get("plan_type")) for p in (state.get("plans") or {}).values() if p.get("open"))
    org_types = {code: org.type for code, org in policy.organisations.items()}
    facts = ChildFacts(ctx.child_id, open_types, councils_of(ctx.team, org_types))
    alerts = []
    for event in events:
        source_type = event["source"].get("organisation_type") or getattr(
            policy.organisations.get(event["source"]["organisation"]), "type", None
        )
        alerts += event_alerts(config.alerts, facts, event, payload_of(event), source_type)
    return alerts


def process_batch(
    engine: Engine,
    policy: Policy,
    config: OutboundConfig,
    codec: FeedCodec,
    topic_ids: dict[str, str],
    records: Sequence[Consumed],
    contexts: Mapping[str, ChildContext] | None = None,
    memo: DecisionMemo | None = None,
) -> int:
    """Feed records, notifications and alerts for a batch, with tracking, in one transaction.

    Everything the batch needs is read for all its children at once (`hub.outbound.feed_inputs`) and what it
    decides is written in bulk (`hub.outbound.feed_writes`), in the order deciding child by child gives.
    `contexts`: the children's consent-engine inputs from the projector that has just committed the batch
    on the same thread (read here for any child not among them); `memo`: the step's decisions from earlier
    batches (hub.disclosure.decision_memo).
    """
    now = datetime.now(UTC)
    with engine.begin() as conn:
        fresh = unseen(conn, FEEDS, topic_ids, records)
        by_child: dict[str, list[dict[str, Any]]] = {}
        for rec in fresh:
            by_child.setdefault(rec.event["child_id"], []).append(dict(rec.event))
        subs = active_subscriptions(conn)
        recipients = _recipients(config, subs)
        contexts = known_contexts(conn, list(by_child), contexts or {})
        joined = {
            child_id: _joined(contexts[child_id], _widened(events))
            for child_id, events in by_child.items()
            if not contexts[child_id].updating
        }
        whole = [c for c, j in joined.items() if j is None or any(r.viewer.organisation in j for r in recipients)]
        everything = set(whole)
        partial = {c: {e["event_id"] for e in by_child[c]} for c in joined if c not in everything}
        inputs = load_inputs(conn, [r.key for r in recipients], whole, partial)
        states = now_states(
            conn, [c for c, events in by_child.items() if any(_may_alert(config.alerts, e) for e in events)]
        )
        writes = FeedWrites(codec, now)
        sent = 0
        for child_id, events in by_child.items():
            ctx = contexts[child_id]
            if child_id in joined:
                batch = {e["event_id"] for e in events}
                rows, held = inputs.rows[child_id], inputs.held[child_id]
                sent += disclose_child(writes, policy, recipients, ctx, rows, held, batch, joined[child_id], now, memo)
            alerts = _alerts(config, policy, ctx, states.get(child_id, {}), events)
            if alerts:
                writes.flush(conn)  # alerts write outbox, deliveries and audit records themselves: keep the order
                sent += raise_alerts(conn, config, codec, alerts, subs, now)
        writes.flush(conn)
        advance_tracking(conn, FEEDS, topic_ids, records)
        return sent
