"""Signed checkpoints of the chain head: the witnesses that make a rewritten chain detectable.

A checkpoint is a compact JWS (ES256, the hub's signing key) over {seq, hash, time}. It is stored in
`audit_checkpoints`, appended to `checkpoints.jsonl` in the data dir and, when a broker is at hand, produced
to `onestory.audit.v1`: whoever rewrites the database must also rewrite every copy, and cannot re-sign.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine, select

from hub.audit.log import chain_head
from hub.db.audit_tables import audit_checkpoints
from hub.kafka.producer import DeliveryError, DurableProducer, OutRecord
from hub.kafka.topics import AUDIT

log = logging.getLogger(__name__)
ISSUER = "urn:onestory:hub:audit"
TYPE = "onestory-audit-checkpoint+jwt"
WITNESS_FILE = "checkpoints.jsonl"


class CheckpointError(Exception):
    """A checkpoint whose signature or claims do not hold."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    record_hash: str
    created_at: datetime
    key_id: str
    jws: str

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "hash": self.record_hash,
            "time": self.created_at.isoformat(),
            "kid": self.key_id,
            "jws": self.jws,
        }


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:32]


def sign(key: ec.EllipticCurvePrivateKey, seq: int, head_hash: str, now: datetime) -> Checkpoint:
    kid = key_id(key.public_key())
    claims = {"iss": ISSUER, "seq": seq, "hash": head_hash, "iat": int(now.timestamp()), "time": now.isoformat()}
    token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid, "typ": TYPE})
    return Checkpoint(seq, head_hash, now, kid, token)


def open_checkpoint(token: str, public_key: ec.EllipticCurvePublicKey) -> tuple[int, str]:
    """(seq, hash) from a checkpoint whose signature holds; CheckpointError otherwise."""
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=["ES256"],
            issuer=ISSUER,
            options={"require": ["iss", "iat"], "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise CheckpointError(f"signature or claims not valid: {type(exc).__name__}") from exc
    if not isinstance(claims.get("seq"), int) or not isinstance(claims.get("hash"), str):
        raise CheckpointError("checkpoint lacks seq or hash")
    return claims["seq"], claims["hash"]


def make_checkpoint(
    engine: Engine, key: ec.EllipticCurvePrivateKey, now: datetime | None = None, only_if_moved: bool = False
) -> Checkpoint | None:
    """Sign the committed head and store it; with only_if_moved, skip when the head is already signed."""
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        seq, head_hash, _, _ = chain_head(conn)
        if only_if_moved:
            last = conn.execute(
                select(audit_checkpoints.c.seq, audit_checkpoints.c.record_hash)
                .order_by(audit_checkpoints.c.id.desc())
                .limit(1)
            ).first()
            if last is not None and (last.seq, last.record_hash) == (seq, head_hash):
                return None
        checkpoint = sign(key, seq, head_hash, now)
        conn.execute(
            audit_checkpoints.insert().values(
                seq=seq, record_hash=head_hash, created_at=now, key_id=checkpoint.key_id, jws=checkpoint.jws
            )
        )
    return checkpoint


def write_witness(data_dir: Path, checkpoint: Checkpoint) -> None:
    """Append one line and fsync: the file survives a database rewrite."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / WITNESS_FILE, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(checkpoint.as_json(), sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_witnesses(data_dir: Path) -> list[str]:
    """The JWS of every checkpoint in the witness file (a missing file is no witnesses)."""
    path = data_dir / WITNESS_FILE
    if not path.exists():
        return []
    tokens = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            tokens.append(str(json.loads(line)["jws"]))
        except (ValueError, KeyError) as exc:
            raise CheckpointError(f"{WITNESS_FILE} line {number} is not a checkpoint") from exc
    return tokens


def publish(producer: DurableProducer, checkpoint: Checkpoint) -> None:
    value = json.dumps(checkpoint.as_json(), sort_keys=True).encode()
    producer.send_all([OutRecord(AUDIT, b"checkpoint", value, (("kind", b"checkpoint"),))])


def checkpoint_and_export(
    engine: Engine,
    key: ec.EllipticCurvePrivateKey,
    data_dir: Path,
    producer: DurableProducer | None,
    only_if_moved: bool = False,
) -> Checkpoint | None:
    """Make a checkpoint, then hand it to the witnesses; a broker outage must not stop the file witness."""
    checkpoint = make_checkpoint(engine, key, only_if_moved=only_if_moved)
    if checkpoint is None:
        return None
    write_witness(data_dir, checkpoint)
    if producer is not None:
        try:
            publish(producer, checkpoint)
        except DeliveryError as exc:
            log.warning("audit checkpoint seq=%d not exported to %s: %s", checkpoint.seq, AUDIT, exc)
    return checkpoint


async def checkpoint_loop(
    engine: Engine, key: ec.EllipticCurvePrivateKey, data_dir: Path, producer: DurableProducer | None, interval: float
) -> None:
    """What `onestory up` runs: a checkpoint at start, then every `interval` seconds if the head moved."""
    first = True
    while True:
        try:
            await asyncio.to_thread(checkpoint_and_export, engine, key, data_dir, producer, not first)
            first = False
        except (OSError, CheckpointError) as exc:
            log.error("audit checkpoint failed: %s", type(exc).__name__)
        except Exception:  # noqa: BLE001 - a database hiccup must not end the loop; it is logged and retried
            log.exception("audit checkpoint failed")
        await asyncio.sleep(interval)


def start_periodic(engine: Engine, data_dir: Path, producer: DurableProducer | None) -> asyncio.Task[None]:
    """The task `onestory up` runs beside the API; the interval comes from ig.yaml (data dir, else bundled)."""
    from hub.audit.config import load_ig_config
    from hub.auth.tokens import load_or_create_signing_key

    interval = load_ig_config(data_dir).checkpoint_interval_seconds
    return asyncio.create_task(
        checkpoint_loop(engine, load_or_create_signing_key(data_dir), data_dir, producer, interval)
    )
