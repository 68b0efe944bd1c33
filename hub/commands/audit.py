"""`onestory audit`: verify the access log, sign checkpoints, report disclosures, purge past retention.

verify      recompute the hash chain, check signed checkpoints (database and checkpoints.jsonl); exit 1 on tamper
checkpoint  sign the chain head now (stored, appended to checkpoints.jsonl, produced to onestory.audit.v1)
report      a child's disclosure report (CSV or PDF) for a subject access request; itself audited
hold        place or release a legal hold on a child's audit records
purge       delete the oldest records past retention and not under legal hold; audited and checkpointed
bench       generate a synthetic chain and time verify (and the cost of one append)
"""

from __future__ import annotations

import errno
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine

from hub.audit import bench as audit_bench
from hub.audit.checkpoints import CheckpointError, checkpoint_and_export, read_witnesses
from hub.audit.config import load_ig_config
from hub.audit.exports import disclosure_csv, disclosure_pdf
from hub.audit.log import IG_ACCESS, AuditRecord, append
from hub.audit.retention import PurgeRefused, place_hold, purge, release_hold
from hub.audit.search import AuditQuery, iterate
from hub.audit.verify import verify as verify_chain
from hub.auth.tokens import load_or_create_signing_key
from hub.db.engine import engine_for, make_engine
from hub.db.migrate import upgrade
from hub.kafka.producer import DurableProducer
from hub.kafka.security import kafka_client_config
from hub.settings import HubSettings

_data_dir = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var"),
    show_default=True,
    help="Holds the hub's key and checkpoints.jsonl.",
)
_database = click.option("--database", default=None, help="SQLAlchemy URL (default: SQLite in the data dir).")
_actor = click.option("--actor", required=True, help="Who is doing this (an IG officer's user id); recorded.")


def _existing(data_dir: Path) -> Path:
    """The hub's data dir must exist: the audit commands read its key and checkpoints, and never start a new hub."""
    if not data_dir.is_dir():
        raise FileNotFoundError(errno.ENOENT, "the data dir does not exist", str(data_dir))
    return data_dir


def _engine(data_dir: Path, database: str | None) -> Engine:
    return engine_for(HubSettings(data_dir=_existing(data_dir), database=database))


def _public_key(data_dir: Path) -> ec.EllipticCurvePublicKey | None:
    """The hub's public key if its key file exists; verify never creates a key."""
    if not (data_dir / "keys" / "signing-key.pem").exists():
        return None
    return load_or_create_signing_key(data_dir).public_key()


@click.group()
def audit() -> None:
    """The tamper-evident access log."""


@audit.command()
@_data_dir
@_database
@click.option("--chunk", type=int, default=20_000, show_default=True, help="Rows fetched per round trip.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def verify(data_dir: Path, database: str | None, chunk: int, as_json: bool) -> None:
    """Recompute the chain; name the first altered, deleted, inserted or reordered record. Exit 1 if any."""
    try:
        witnesses = read_witnesses(_existing(data_dir))
    except CheckpointError as exc:
        raise click.ClickException(str(exc)) from exc
    engine = _engine(data_dir, database)
    with engine.connect() as conn:
        result = verify_chain(conn, _public_key(data_dir), witnesses, chunk=chunk)
    engine.dispose()
    summary = {
        "ok": result.ok,
        "records": result.records,
        "headSeq": result.head_seq,
        "anchorSeq": result.anchor_seq,
        "checkpointsChecked": result.checkpoints_checked,
        "signaturesChecked": result.signatures_checked,
        "firstBadSeq": result.first_bad_seq,
        "problem": result.problem,
        "seconds": round(result.seconds, 3),
        "cpuSeconds": round(result.cpu_seconds, 3),
        "notes": result.notes,
    }
    if as_json:
        click.echo(json.dumps(summary))
    elif result.ok:
        click.echo(
            f"ok: {result.records} records verified up to seq {result.head_seq}, "
            f"{result.checkpoints_checked} signed checkpoint(s) matched, {result.seconds:.2f}s"
        )
        for note in result.notes:
            click.echo(f"note: {note}")
    else:
        click.echo(f"TAMPERED: first bad record seq={result.first_bad_seq}: {result.problem}", err=True)
    if not result.ok:
        raise SystemExit(1)


@audit.command()
@_data_dir
@_database
@click.option("--kafka", default=None, help="Also produce it to onestory.audit.v1 on this broker.")
def checkpoint(data_dir: Path, database: str | None, kafka: str | None) -> None:
    """Sign the chain head now with the hub's key."""
    engine = _engine(data_dir, database)
    config = kafka_client_config(HubSettings(data_dir=data_dir, database=database))
    producer = DurableProducer(kafka, client_id="onestory-audit", config=config) if kafka else None
    made = checkpoint_and_export(engine, load_or_create_signing_key(data_dir), data_dir, producer)
    if producer:
        producer.close()
    engine.dispose()
    assert made is not None
    click.echo(f"checkpoint seq={made.seq} hash={made.record_hash}")


@audit.command()
@_data_dir
@_database
@_actor
@click.option("--child", "child_id", required=True, help="The hub's child id.")
@click.option("--format", "fmt", type=click.Choice(["csv", "pdf"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def report(data_dir: Path, database: str | None, actor: str, child_id: str, fmt: str, out: Path) -> None:
    """Who saw what of CHILD's record, when and why (metadata only), for a subject access request."""
    engine = _engine(data_dir, database)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        items = list(iterate(conn, AuditQuery(child_id=child_id)))
        append(
            conn,
            AuditRecord(
                action=IG_ACCESS,
                outcome="success",
                user_id=actor,
                organisation="hub",
                role="ig-officer",
                purpose="audit",
                child_id=child_id,
                query=f"disclosure-report.{fmt} (cli)",
            ),
            now,
        )
    engine.dispose()
    if fmt == "csv":
        out.write_text(disclosure_csv(items), encoding="utf-8")
    else:
        out.write_bytes(disclosure_pdf(child_id, items, now, actor))
    click.echo(f"wrote {len(items)} access record(s) to {out}")


@audit.command()
@_data_dir
@_database
@_actor
@click.option("--child", "child_id", required=True)
@click.option("--reason", default=None, help="Why the hold is placed (required to place one).")
@click.option("--release", is_flag=True, help="Release the hold instead.")
def hold(data_dir: Path, database: str | None, actor: str, child_id: str, reason: str | None, release: bool) -> None:
    """Place (or release) a legal hold: a held child's records survive every purge."""
    if not release and not reason:
        raise click.UsageError("--reason is required to place a hold")
    engine = _engine(data_dir, database)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        if release:
            release_hold(conn, child_id)
        else:
            place_hold(conn, child_id, reason or "", actor, now)
        append(
            conn,
            AuditRecord(
                action="legal-hold",
                outcome="success",
                user_id=actor,
                organisation="hub",
                role="ig-officer",
                purpose="audit",
                child_id=child_id,
                reason=reason,
                detail={"hold": "released" if release else "placed"},
            ),
            now,
        )
    engine.dispose()
    click.echo(f"legal hold {'released' if release else 'placed'}")


@audit.command("purge")
@_data_dir
@_database
@_actor
@click.option("--up-to-seq", type=int, default=None, help="Purge exactly up to here, or refuse.")
def purge_command(data_dir: Path, database: str | None, actor: str, up_to_seq: int | None) -> None:
    """Delete the oldest records past retention and not under legal hold; then sign a checkpoint."""
    config = load_ig_config(data_dir)
    engine = _engine(data_dir, database)
    try:
        with engine.begin() as conn:
            result = purge(conn, config.retention_days, datetime.now(UTC), actor, up_to_seq)
    except PurgeRefused as exc:
        raise click.ClickException(f"purge refused: {exc}") from exc
    checkpoint_and_export(engine, load_or_create_signing_key(data_dir), data_dir, None)
    engine.dispose()
    click.echo(f"purged {result.purged} record(s), seq {result.from_seq}..{result.to_seq}; anchor kept")


@audit.command("bench")
@click.option("--records", type=int, default=1_000_000, show_default=True)
@click.option("--database", default=None, help="An empty database URL (default: a temporary SQLite file).")
@click.option("--append-samples", type=int, default=300, show_default=True)
def bench_command(records: int, database: str | None, append_samples: int) -> None:
    """Generate RECORDS synthetic records, then time `verify` over them and the cost of one append."""
    with tempfile.TemporaryDirectory(prefix="onestory-audit-bench-") as tmp:  # a given --database is kept
        engine = make_engine(database or f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        result = audit_bench.run(engine, records, append_samples)
        engine.dispose()
    v = result.verify
    click.echo(
        json.dumps(
            {
                "records": result.records,
                "backend": engine.dialect.name,
                "generate_s": round(result.generate_s, 1),
                "verify_ok": v.ok,
                "verify_s": round(v.seconds, 2),
                "verify_cpu_s": round(v.cpu_seconds, 2),
                "verify_records_per_s": round(v.records / v.seconds),
                "append_ms_p50": round(result.append_ms_p50, 3),
                "append_ms_p95": round(result.append_ms_p95, 3),
            }
        )
    )
