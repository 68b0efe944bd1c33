"""`onestory subscriptions list|status|replay`: FHIR rest-hook subscriptions and their deliveries.

Reads and updates the SQL tables the worker delivers from; `replay` puts dead-lettered deliveries back in
the queue (attempts reset), and the worker sends them again in event-number order. Output never includes
notification bodies or signing secrets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine, func, select

from hub.db.engine import engine_for
from hub.db.feed_tables import subscription_deliveries, subscriptions
from hub.outbound.relay import replay as requeue
from hub.settings import HubSettings

_db = click.option("--database", default=None, help="SQLAlchemy URL (default: SQLite file in the data dir).")
_data_dir = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var"), show_default=True
)
_json = click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")


def _engine(data_dir: Path, database: str | None) -> Engine:
    return engine_for(HubSettings(data_dir=data_dir, database=database))


def _counts(engine: Engine, sub_id: str | None = None) -> dict[str, dict[str, int]]:
    query = select(subscription_deliveries.c.subscription_id, subscription_deliveries.c.status, func.count()).group_by(
        subscription_deliveries.c.subscription_id, subscription_deliveries.c.status
    )
    if sub_id:
        query = query.where(subscription_deliveries.c.subscription_id == sub_id)
    out: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for sid, status, n in conn.execute(query):
            out.setdefault(sid, {})[status] = int(n)
    return out


def _row(r: Any, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": r.id,
        "organisation": r.organisation,
        "role": r.role,
        "purpose": r.purpose,
        "topic": r.topic,
        "filters": r.filters,
        "endpoint": r.endpoint,
        "status": r.status,
        "events_since_start": int(r.events_since_start),
        "created_at": r.created_at.isoformat(),
        "deliveries": {k: counts.get(k, 0) for k in ("pending", "delivered", "dead")},
    }


@click.group()
def subscriptions_cli() -> None:
    """FHIR rest-hook subscriptions: list them, see their delivery state, replay dead letters."""


@subscriptions_cli.command("list")
@_data_dir
@_db
@_json
def list_(data_dir: Path, database: str | None, as_json: bool) -> None:
    engine = _engine(data_dir, database)
    counts = _counts(engine)
    with engine.connect() as conn:
        rows = [
            _row(r, counts.get(r.id, {}))
            for r in conn.execute(select(subscriptions).order_by(subscriptions.c.created_at, subscriptions.c.id))
        ]
    engine.dispose()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        d = r["deliveries"]
        click.echo(
            f"{r['id']}  {r['status']:<6} {r['organisation']:<8} {r['topic'].rsplit('/', 1)[-1]:<14} "
            f"delivered={d['delivered']} pending={d['pending']} dead={d['dead']}  {r['endpoint']}"
        )


@subscriptions_cli.command("status")
@click.argument("subscription_id")
@_data_dir
@_db
@_json
def status(subscription_id: str, data_dir: Path, database: str | None, as_json: bool) -> None:
    engine = _engine(data_dir, database)
    with engine.connect() as conn:
        sub = conn.execute(select(subscriptions).where(subscriptions.c.id == subscription_id)).first()
        if sub is None:
            raise click.ClickException("no such subscription")
        recent = conn.execute(
            select(
                subscription_deliveries.c.id,
                subscription_deliveries.c.event_number,
                subscription_deliveries.c.status,
                subscription_deliveries.c.attempts,
                subscription_deliveries.c.last_error,
            )
            .where(subscription_deliveries.c.subscription_id == subscription_id)
            .order_by(subscription_deliveries.c.event_number.desc())
            .limit(20)
        ).all()
    out = _row(sub, _counts(engine, subscription_id).get(subscription_id, {}))
    engine.dispose()
    out["recent"] = [
        {
            "id": r.id,
            "event_number": int(r.event_number),
            "status": r.status,
            "attempts": int(r.attempts),
            "last_error": r.last_error,
        }
        for r in recent
    ]
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(
        f"subscription {out['id']} ({out['status']}) for {out['organisation']} as {out['role']}/{out['purpose']}"
    )
    click.echo(f"topic {out['topic']} filters {out['filters'] or '-'} endpoint {out['endpoint']}")
    click.echo(f"events since start {out['events_since_start']}; deliveries {out['deliveries']}")
    for r in out["recent"]:
        click.echo(f"  #{r['event_number']:<5} {r['status']:<9} attempts={r['attempts']} {r['last_error'] or ''}")


@subscriptions_cli.command("replay")
@click.argument("subscription_id", required=False)
@click.option("--delivery", default=None, help="Replay this one delivery only.")
@_data_dir
@_db
def replay(subscription_id: str | None, delivery: str | None, data_dir: Path, database: str | None) -> None:
    """Requeue dead-lettered deliveries (of one subscription, or all); the worker sends them again."""
    engine = _engine(data_dir, database)
    n = requeue(engine, subscription_id, delivery)
    engine.dispose()
    click.echo(f"requeued {n} dead-lettered deliver{'y' if n == 1 else 'ies'}")
