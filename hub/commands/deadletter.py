"""`onestory deadletter list|show|replay`: what the hub could not take, why, and taking it again once fixed.

Reads the SQL `deadletters` table (the worker copies every dead letter there, so it survives a broker
restart). Replay runs the connector's pure intake on the kept bytes, exactly as the transport did: if it now
maps, the events are published and the row is marked replayed; if not, the new reason is recorded.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine, select, update

from hub.db.engine import engine_for
from hub.db.tables import deadletters
from hub.settings import HubSettings

_db = click.option("--database", default=None, help="SQLAlchemy URL (default: SQLite file in the data dir).")
_data_dir = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var"), show_default=True
)


def _engine(data_dir: Path, database: str | None) -> Engine:
    return engine_for(HubSettings(data_dir=data_dir, database=database))


def _summary(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "received_at": row.received_at.isoformat(),
        "connector": row.connector,
        "phase": row.phase,
        "status": row.status,
        "reason": row.reason,
        "replayed_at": row.replayed_at.isoformat() if row.replayed_at else None,
        "replay_result": row.replay_result,
    }


@click.group()
def deadletter() -> None:
    """Inspect and replay input the hub kept because it could not take it."""


@deadletter.command("list")
@_data_dir
@_db
@click.option("--status", type=click.Choice(["held", "replayed", "all"]), default="held", show_default=True)
@click.option("--connector", default=None)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_(data_dir: Path, database: str | None, status: str, connector: str | None, as_json: bool) -> None:
    query = select(deadletters).order_by(deadletters.c.received_at)
    if status != "all":
        query = query.where(deadletters.c.status == status)
    if connector:
        query = query.where(deadletters.c.connector == connector)
    with _engine(data_dir, database).connect() as conn:
        rows = conn.execute(query).all()
    for row in rows:
        if as_json:
            click.echo(json.dumps(_summary(row)))
        else:
            click.echo(
                f"{row.id}  {row.received_at:%Y-%m-%d %H:%M:%S}  {row.connector:<13} {row.phase:<8} "
                f"{row.status:<8} {row.reason[:100]}"
            )
    if not as_json:
        click.echo(f"{len(rows)} dead letter(s)", err=True)


def _load(engine: Engine, dl_id: str) -> Any:
    with engine.connect() as conn:
        row = conn.execute(select(deadletters).where(deadletters.c.id == dl_id)).first()
    if row is None:
        raise click.ClickException(f"no dead letter {dl_id}")
    return row


@deadletter.command()
@_data_dir
@_db
@click.argument("dl_id")
@click.option("--body/--no-body", default=False, help="Also print the kept input (it may hold personal data).")
def show(data_dir: Path, database: str | None, dl_id: str, body: bool) -> None:
    row = _load(_engine(data_dir, database), dl_id)
    click.echo(json.dumps({**_summary(row), "content_type": row.content_type, "bytes": len(row.body)}, indent=2))
    if body:
        click.echo(row.body.decode("utf-8", "replace"))


@deadletter.command()
@_data_dir
@_db
@click.option("--kafka", required=True, help="HOST:PORT of the broker the hub uses (the `ready` line shows it).")
@click.option(
    "--body-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="A corrected copy of the kept input to replay instead (one id only); it replaces the kept body.",
)
@click.argument("dl_ids", nargs=-1, required=True)
def replay(data_dir: Path, database: str | None, kafka: str, body_file: Path | None, dl_ids: tuple[str, ...]) -> None:
    """Re-run the connector on each kept input; exit code 1 if any is still rejected.

    Use it after a mapping is fixed, or with --body-file once the sender's data has been corrected.
    """
    if body_file is not None and len(dl_ids) != 1:
        raise click.UsageError("--body-file replays exactly one dead letter")
    from connectors.errors import ConnectorError, LimitExceeded
    from connectors.publisher import Publisher
    from connectors.registry import replayers
    from hub.api.limits import IntakeLimits, json_breach
    from hub.directory_file import load_directory
    from hub.events.codec import EventCodec
    from hub.kafka.journal import IntakeJournal, journal_engine
    from hub.kafka.producer import DeliveryError, DurableProducer
    from hub.kafka.security import kafka_client_config

    settings = HubSettings(data_dir=data_dir, database=database)
    engine = _engine(data_dir, database)
    security = kafka_client_config(settings)
    producer = DurableProducer(kafka, client_id="onestory-deadletter-replay", config=security)
    # Replayed events are durable the way intake's are: committed to the intake journal first (relayed from
    # here, or by the running hub if the broker goes away meanwhile), unless the journal is switched off.
    journal = None
    if settings.intake_journal != "off":
        journal = IntakeJournal(journal_engine(engine), producer, archive=engine).start()
    publisher = Publisher(journal or producer, EventCodec.load())
    limits = IntakeLimits.from_settings(settings)
    intakes = replayers(load_directory(settings.directory_file))
    failed = 0
    try:
        for dl_id in dl_ids:
            row = _load(engine, dl_id)
            now = datetime.now(UTC)
            intake = intakes.get(row.connector)
            body = body_file.read_bytes() if body_file is not None else bytes(row.body)
            try:
                if intake is None:
                    raise click.ClickException(f"{dl_id}: connector {row.connector!r} cannot be replayed")
                breach = json_breach(body, limits) if "json" in row.content_type else None
                if breach is not None:  # the same limits as intake: a nested body must not crash the replay
                    raise LimitExceeded(breach.detail)
                batch = intake(body, row.content_type, now)
                errors = batch.errors
                if errors:
                    result, status = "; ".join(f"{i.location}: {i.reason}" for i in errors[:5]), "held"
                else:
                    publisher.publish(batch.events)
                    result, status = f"published {len(batch.events)} event(s)", "replayed"
            except ConnectorError as exc:
                result, status = str(exc), "held"
            except DeliveryError as exc:
                raise click.ClickException(f"{dl_id}: the broker did not take the events; nothing changed") from exc
            with engine.begin() as conn:
                conn.execute(
                    update(deadletters)
                    .where(deadletters.c.id == dl_id)
                    .values(status=status, replayed_at=now, replay_result=result, body=body)
                )
            failed += status != "replayed"
            click.echo(f"{dl_id}  {status}  {result}")
    finally:
        if journal is not None:
            journal.stop()
        producer.close()
        engine.dispose()
    if failed:
        raise SystemExit(1)
