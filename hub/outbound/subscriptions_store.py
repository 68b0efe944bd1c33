"""Agency subscriptions as the registration API keeps them: add, find one of an organisation's own, end.

Registration and cancellation commit their audit record in the same transaction as the change, so there is no
subscription without its record and no record of a change that did not happen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update

from hub.audit.log import AuditRecord, append
from hub.db.feed_tables import subscriptions


def add(engine: Engine, row: dict[str, Any], record: AuditRecord, now: datetime) -> None:
    """Store a new subscription (`row`: the subscriptions table's columns) with its audit record."""
    with engine.begin() as conn:
        conn.execute(subscriptions.insert().values(**row))
        append(conn, record, now)


def own(engine: Engine, sub_id: str, organisation: str) -> dict[str, Any] | None:
    """The subscription if `organisation` registered it; None for another organisation's or an unknown id."""
    with engine.connect() as conn:
        row = conn.execute(
            select(subscriptions).where(subscriptions.c.id == sub_id, subscriptions.c.organisation == organisation)
        ).first()
    return dict(row._mapping) if row is not None else None


def end(engine: Engine, sub_id: str, record: AuditRecord, now: datetime) -> None:
    """Turn the subscription off (no more notifications) with its audit record."""
    with engine.begin() as conn:
        conn.execute(update(subscriptions).where(subscriptions.c.id == sub_id).values(status="off"))
        append(conn, record, now)
