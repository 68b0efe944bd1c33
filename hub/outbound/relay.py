"""Sending what the feed processor and the API queued: the Kafka outbox and rest-hook deliveries.

Both run inside the worker on a short poll. The outbox is published with the durable producer (acks=all)
and only then marked sent, so a crash in between republishes: consumers dedupe by `record_id`. Rest-hook
deliveries are claimed by moving their next attempt forward (a lease) before the request, posted with
bounded concurrency, signed per subscription, retried with exponential backoff and moved to the dead-letter
state after `max_attempts` failures, where `onestory subscriptions replay` can requeue them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, select, update

from hub.db.feed_tables import outbound_outbox, subscription_deliveries, subscriptions
from hub.kafka.producer import DurableProducer, OutRecord
from hub.outbound.signing import HEADER, sign
from hub.settings import OutboundSettings

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)


def publish_outbox(engine: Engine, producer: DurableProducer, limit: int = 1000) -> int:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                outbound_outbox.c.seq,
                outbound_outbox.c.topic,
                outbound_outbox.c.key,
                outbound_outbox.c.value,
                outbound_outbox.c.record_id,
            )
            .where(outbound_outbox.c.sent_at.is_(None))
            .order_by(outbound_outbox.c.seq)
            .limit(limit)
        ).all()
    if not rows:
        return 0
    producer.send_all(
        [OutRecord(r.topic, r.key, r.value, (("onestory-record-id", r.record_id.encode()),)) for r in rows]
    )
    with engine.begin() as conn:
        conn.execute(
            update(outbound_outbox)
            .where(outbound_outbox.c.seq.in_([r.seq for r in rows]))
            .values(sent_at=datetime.now(UTC))
        )
    return len(rows)


def backoff(settings: OutboundSettings, attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failures: base * 2^(attempts-1), capped."""
    return float(min(settings.retry_base_seconds * 2 ** max(attempts - 1, 0), settings.retry_max_seconds))


def claim_due(engine: Engine, limit: int) -> list[dict[str, Any]]:
    """Due pending deliveries, each leased to this worker by pushing its next attempt past the lease."""
    now = datetime.now(UTC)
    claimed = []
    with engine.begin() as conn:
        due = (
            conn.execute(
                select(subscription_deliveries, subscriptions.c.endpoint, subscriptions.c.secret)
                .join(subscriptions, subscriptions.c.id == subscription_deliveries.c.subscription_id)
                .where(
                    subscription_deliveries.c.status == "pending",
                    subscription_deliveries.c.next_attempt_at <= now,
                    subscriptions.c.status == "active",
                )
                .order_by(subscription_deliveries.c.subscription_id, subscription_deliveries.c.event_number)
                .limit(limit)
            )
            .mappings()
            .all()
        )
        for row in due:
            taken = conn.execute(
                update(subscription_deliveries)
                .where(
                    subscription_deliveries.c.id == row["id"],
                    subscription_deliveries.c.next_attempt_at == row["next_attempt_at"],
                )
                .values(next_attempt_at=now + LEASE)
            ).rowcount
            if taken:
                claimed.append(dict(row))
    return claimed


def record_outcome(engine: Engine, settings: OutboundSettings, delivery: dict[str, Any], error: str | None) -> None:
    now = datetime.now(UTC)
    attempts = int(delivery["attempts"]) + 1
    if error is None:
        values: dict[str, Any] = {"status": "delivered", "attempts": attempts, "delivered_at": now, "last_error": None}
    elif attempts >= settings.max_attempts:
        values = {"status": "dead", "attempts": attempts, "last_error": error}
    else:
        values = {
            "attempts": attempts,
            "last_error": error,
            "next_attempt_at": now + timedelta(seconds=backoff(settings, attempts)),
        }
    with engine.begin() as conn:
        conn.execute(
            update(subscription_deliveries).where(subscription_deliveries.c.id == delivery["id"]).values(**values)
        )


async def _post(client: httpx.AsyncClient, delivery: dict[str, Any]) -> str | None:
    """None on a 2xx; otherwise the status code or error type (never the response body: it may echo data)."""
    body = json.dumps(delivery["body"], sort_keys=True, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/fhir+json",
        HEADER: sign(delivery["secret"], body, int(time.time())),
        "X-OneStory-Delivery": delivery["id"],
        "X-OneStory-Subscription": delivery["subscription_id"],
    }
    try:
        reply = await client.post(delivery["endpoint"], content=body, headers=headers)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return None if 200 <= reply.status_code < 300 else f"HTTP {reply.status_code}"


async def deliver_due(engine: Engine, settings: OutboundSettings, client: httpx.AsyncClient) -> int:
    """One pass: claim what is due and post it, at most `concurrency` requests in flight."""
    due = await asyncio.to_thread(claim_due, engine, settings.concurrency * 8)
    gate = asyncio.Semaphore(settings.concurrency)

    async def one(delivery: dict[str, Any]) -> None:
        async with gate:
            error = await _post(client, delivery)
        if error is not None:
            log.warning("rest-hook delivery %s attempt %d failed: %s", delivery["id"], delivery["attempts"] + 1, error)
        await asyncio.to_thread(record_outcome, engine, settings, delivery, error)

    # Deliveries of one subscription go in event-number order: one subscription's batch runs sequentially.
    by_sub: dict[str, list[dict[str, Any]]] = {}
    for d in due:
        by_sub.setdefault(d["subscription_id"], []).append(d)

    async def in_order(items: list[dict[str, Any]]) -> None:
        for item in items:
            await one(item)

    await asyncio.gather(*(in_order(items) for items in by_sub.values()))
    return len(due)


def replay(engine: Engine, subscription_id: str | None = None, delivery_id: str | None = None) -> int:
    """Requeue dead deliveries (all, one subscription's, or one); returns how many."""
    query = update(subscription_deliveries).where(subscription_deliveries.c.status == "dead")
    if subscription_id:
        query = query.where(subscription_deliveries.c.subscription_id == subscription_id)
    if delivery_id:
        query = query.where(subscription_deliveries.c.id == delivery_id)
    with engine.begin() as conn:
        return int(
            conn.execute(
                query.values(status="pending", attempts=0, next_attempt_at=datetime.now(UTC), last_error=None)
            ).rowcount
        )
