"""Writing outbound records inside the caller's transaction: outbox rows, subscription deliveries, audit.

Nothing here talks to Kafka or HTTP: the records are durable once the caller commits, and the relay
(`hub.outbound.relay`) sends them. Deciding, remembering what was sent, auditing and queueing therefore
commit or roll back together, like a read and its audit record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from consent_engine import Decision
from hub.audit import log as audit
from hub.db.feed_tables import outbound_alerts, outbound_outbox, subscription_deliveries, subscriptions
from hub.db.upsert import insert_ignore
from hub.outbound.alert_rules import ALERT_LEVEL, Alert
from hub.outbound.config import OutboundConfig, Subscriber
from hub.outbound.feed_codec import FeedCodec
from hub.outbound.fhir_subscription import TOPIC_ALERT, Notice, matches, notification_bundle

DISCLOSE_ACTION = "disclosure"  # BALP "Privacy Disclosure": audited like a read, with the recipient as viewer
SYSTEM_USER = "onestory-outbound"


# json.dumps(content, sort_keys=True, default=str), without building an encoder per call (most of its cost).
_content_json = json.JSONEncoder(sort_keys=True, default=str).encode
encode_content = _content_json  # a feed record's content: an entry shaped for its level, or an alert's fields
_quote: Any = getattr(json.encoder, "c_encode_basestring_ascii", None) or json.encoder.py_encode_basestring_ascii


def _value_json(value: Any) -> str:
    """`_content_json(value)`: a string's is its quoted ASCII form (what the encoder writes for a string)."""
    return _quote(value) if type(value) is str else _content_json(value)


def content_json(entry: dict[str, Any], decision: Decision, full: dict[str, str] | None = None) -> str:
    """`_content_json(disclose(entry, decision))`, the content of a feed record, written field by field.

    A feed record's content is an entry shaped for its level (`hub.disclosure.decide.disclose`) as sorted JSON.
    Its keys are fixed, so they are written here in sorted order with each value's own encoding, instead
    of building the shaped dict and having the encoder sort and walk it: several times faster for the
    summaries and flags (all strings). At full level `full` gives the encodings of the entry's four JSON
    fields (`hub.outbound.feed_inputs.content_of` remembers them by their stored text); otherwise they are
    encoded from `entry`. `tests/unit/outbound/test_feed_content.py` holds the two equal.
    """
    level = decision.level.value
    q = _value_json
    source = ', "source": {"organisation": ' + q(entry["source_org"]) + ', "system": ' + q(entry["source_system"])
    occurred = q(entry["occurred_at"].isoformat())
    if level == "flag":
        note = q(decision.practitioner_message)
        return (
            f'{{"id": {q(entry["entry_id"])}, "level": {q(level)}, "note": {note}, "occurredAt": {occurred}{source}}}}}'
        )
    if level != "full":
        return (
            f'{{"category": {q(entry["category"])}, "id": {q(entry["entry_id"])}, "kind": {q(entry["kind"])}, '
            f'"level": {q(level)}, "occurredAt": {occurred}{source}}}, "summary": {q(entry["summary"])}}}'
        )
    if full is None:
        full = {name: q(entry[name]) for name in _FULL_FIELDS}
    return (
        f'{{"category": {q(entry["category"])}, "correlationIds": {full["correlation_ids"]}, '
        f'"detail": {full["detail"]}, "id": {q(entry["entry_id"])}, "kind": {q(entry["kind"])}, '
        f'"level": {q(level)}, "occurredAt": {occurred}, "sensitivityLabels": {full["sensitivity_labels"]}, '
        f'"sharingBasis": {full["sharing_basis"]}{source}}}, "summary": {q(entry["summary"])}}}'
    )


_FULL_FIELDS = ("correlation_ids", "detail", "sensitivity_labels", "sharing_basis")


def out_topic(organisation: str) -> str:
    return f"onestory.out.{organisation}.v1"


OUTBOX_COLUMNS = ("record_id", "topic", "key", "value", "created_at", "sent_at")


def outbox_row(codec: FeedCodec, record: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The outbox row that publishes a feed record on its organisation's topic, keyed by the child."""
    return dict(zip(OUTBOX_COLUMNS, outbox_values(codec, record, now), strict=True))


def outbox_values(codec: FeedCodec, record: dict[str, Any], now: datetime) -> tuple[Any, ...]:
    """`outbox_row`'s values in `OUTBOX_COLUMNS` order, for bulk writers (`hub.db.upsert.insert_ignore_values`)."""
    return (
        record["record_id"],
        out_topic(record["organisation"]),
        record["child_id"].encode(),
        codec.encode(record),
        now,
        None,
    )


def queue_feed_record(conn: Connection, codec: FeedCodec, record: dict[str, Any], now: datetime) -> None:
    insert_ignore(conn, outbound_outbox, [outbox_row(codec, record, now)])


def feed_record(
    op: str,
    org: str,
    child_id: str,
    entry_id: str | None,
    level: str,
    record_id: str,
    now: datetime,
    policy_version: str | None,
    reason: str | None,
    content: dict[str, Any] | None,
) -> dict[str, Any]:
    content_text = None if content is None else _content_json(content)
    return feed_record_of(op, org, child_id, entry_id, level, record_id, now, policy_version, reason, content_text)


def feed_record_of(
    op: str,
    org: str,
    child_id: str,
    entry_id: str | None,
    level: str,
    record_id: str,
    now: datetime,
    policy_version: str | None,
    reason: str | None,
    content: str | None,
) -> dict[str, Any]:
    """`feed_record` with its content already JSON (`content_json`): the outbound feeds write it directly."""
    return {
        "record_id": record_id,
        "op": op,
        "organisation": org,
        "child_id": child_id,
        "entry_id": entry_id,
        "level": level,
        "sent_at": now,
        "policy_version": policy_version,
        "reason": reason,
        "content": content,
    }


def queue_notice(conn: Connection, sub: dict[str, Any], notice: Notice, now: datetime) -> int:
    """Queue one notification for a subscription; returns its event number."""
    conn.execute(
        update(subscriptions)
        .where(subscriptions.c.id == sub["id"])
        .values(events_since_start=subscriptions.c.events_since_start + 1)
    )
    number = int(
        conn.execute(select(subscriptions.c.events_since_start).where(subscriptions.c.id == sub["id"])).scalar_one()
    )
    conn.execute(subscription_deliveries.insert().values(**delivery_row(sub, number, notice, now)))
    return number


def delivery_row(sub: dict[str, Any], number: int, notice: Notice, now: datetime) -> dict[str, Any]:
    """The pending delivery of a subscription's notification number `number` (its id is stable across retries)."""
    return {
        "id": hashlib.sha256(f"{sub['id']}|{number}".encode()).hexdigest()[:40],
        "subscription_id": sub["id"],
        "event_number": number,
        "body": notification_bundle(sub, number, notice, now),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "created_at": now,
        "delivered_at": None,
    }


def active_subscriptions(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(subscriptions)
        .where(subscriptions.c.status == "active")
        .order_by(subscriptions.c.created_at, subscriptions.c.id)
    )
    return [dict(r._mapping) for r in rows]


def audit_disclosure(
    conn: Connection,
    *,
    recipient: str,
    organisation: str,
    role: str,
    purpose: str,
    child_id: str,
    entries: list[dict[str, str]],
    policy_version: str | None,
    channel: str,
    reason: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """One audit record per recipient, child and batch: who received what, at which level, and why."""
    audit.append(
        conn,
        disclosure_record(
            recipient=recipient,
            organisation=organisation,
            role=role,
            purpose=purpose,
            child_id=child_id,
            entries=entries,
            policy_version=policy_version,
            channel=channel,
            reason=reason,
            detail=detail,
        ),
        now,
    )


def disclosure_record(
    *,
    recipient: str,
    organisation: str,
    role: str,
    purpose: str,
    child_id: str,
    entries: list[dict[str, str]],
    policy_version: str | None,
    channel: str,
    reason: str,
    detail: dict[str, Any] | None = None,
) -> audit.AuditRecord:
    """The audit record of a disclosure, for `audit.append` or, several at once, `audit.append_many`."""
    return audit.AuditRecord(
        action=DISCLOSE_ACTION,
        outcome="success",
        user_id=recipient,
        organisation=organisation,
        role=role,
        purpose=purpose,
        child_id=child_id,
        query=channel,
        entries=entries,
        policy_version=policy_version,
        reason=reason,
        legitimate_relationship=None,
        detail={"channel": channel, **(detail or {})},
    )


def _insert_new(conn: Connection, table: Table, row: dict[str, Any]) -> bool:
    """Insert one row unless its key exists; True if inserted. RETURNING, because psycopg reports rowcount -1."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values(**row).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return conn.execute(statement).first() is not None


def raise_alerts(
    conn: Connection,
    config: OutboundConfig,
    codec: FeedCodec,
    alerts: Sequence[Alert],
    subs: Sequence[dict[str, Any]],
    now: datetime,
) -> int:
    """Record, queue and audit alerts not raised before; returns how many were new."""
    raised = 0
    for alert in alerts:
        fresh = _insert_new(
            conn,
            outbound_alerts,
            {
                "alert_id": alert.alert_id,
                "rule": alert.rule,
                "organisation": alert.organisation,
                "child_id": alert.child_id,
                "created_at": now,
            },
        )
        if not fresh:
            continue
        raised += 1
        content = {"alert": alert.rule, **alert.fields}
        channels = []
        feed: Subscriber | None = config.feed_of(alert.organisation)
        if feed is not None:
            queue_feed_record(
                conn,
                codec,
                feed_record(
                    "alert",
                    alert.organisation,
                    alert.child_id,
                    None,
                    ALERT_LEVEL,
                    alert.alert_id,
                    now,
                    config.alerts.version,
                    alert.rule,
                    content,
                ),
                now,
            )
            channels.append(out_topic(alert.organisation))
        notice = Notice(alert.child_id, "alert", ALERT_LEVEL, content=content, rule=alert.rule)
        for sub in subs:
            if (
                sub["organisation"] == alert.organisation
                and sub["topic"] == TOPIC_ALERT
                and matches(sub["topic"], sub["filters"], notice, involved=True)
            ):
                queue_notice(conn, sub, notice, now)
                channels.append(f"subscription:{sub['id']}")
        if channels:
            audit_disclosure(
                conn,
                recipient=SYSTEM_USER,
                organisation=alert.organisation,
                role="system",
                purpose="safeguarding",
                child_id=alert.child_id,
                entries=[{"id": f"alert:{alert.alert_id}", "level": ALERT_LEVEL}],
                policy_version=config.alerts.version,
                channel=",".join(channels),
                reason=f"alert rule {alert.rule}",
                now=now,
                detail={"alert_fields": sorted(alert.fields)},
            )
    return raised
