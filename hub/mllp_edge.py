"""The MLLP listener as the hub runs it, from settings: size limits, TLS, sender binding and its audit.

`onestory up` (hub.stack) and the stand-alone `onestory mllp` (hub.commands.serve) build it here, so both
enforce the same limits and the same binding, and both audit a refused sender in the tamper-evident log.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

from sqlalchemy import Engine

from connectors.hl7v2.intake import Hl7Intake
from connectors.hl7v2.limits import Hl7Limits
from connectors.hl7v2.map import Hl7Mapping
from connectors.hl7v2.mllp_server import MllpServer
from connectors.hl7v2.senders import Refusal
from connectors.publisher import Publisher
from hub.audit.group_commit import writer_for
from hub.audit.log import AuditRecord
from hub.db.engine import make_engine
from hub.directory_file import load_directory
from hub.settings import HubSettings

SENDER_REFUSED = "hl7-sender-refused"
"""Audit action: an MLLP connection sent as an organisation the directory does not bind it to."""


class MllpTlsError(ValueError):
    """The MLLP TLS settings are incomplete or name files that cannot be used."""


def mllp_tls_context(settings: HubSettings) -> ssl.SSLContext | None:
    """The listener's TLS context (None: plain TCP); with a client CA, clients must present a certificate it signed."""
    cert, key, client_ca = settings.mllp_tls_cert_file, settings.mllp_tls_key_file, settings.mllp_tls_client_ca_file
    if cert is None:
        if key is not None or client_ca is not None:
            raise MllpTlsError("an MLLP TLS key or client CA file is set without ONESTORY_MLLP_TLS_CERT_FILE")
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
        if client_ca is not None:
            context.load_verify_locations(cafile=client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as exc:
        raise MllpTlsError(f"MLLP TLS: cannot use {cert}, {key}, {client_ca}: {exc}") from exc
    return context


def refusal_record(refusal: Refusal) -> AuditRecord:
    """A refused sender as an audit record: who connected, as whom, and why (no message content)."""
    peer = refusal.peer
    return AuditRecord(
        action=SENDER_REFUSED,
        outcome="denied",
        user_id=f"cn:{peer.certificate}" if peer.certificate else f"address:{peer.address or 'unknown'}",
        organisation=refusal.organisation,
        role="hl7-sender",
        purpose="intake",
        query=f"MSH-4={refusal.facility}",
        client_address=peer.address,
        reason=refusal.reason,
        detail={"connector": "hl7v2", "certificate": peer.certificate, "deadletterId": refusal.deadletter_id},
    )


def audit_refusals(engine: Engine) -> Callable[[Refusal], object]:
    """The intake's `on_refused`: append each refusal to the audit log and wait until it is committed."""
    return lambda refusal: writer_for(engine).append(refusal_record(refusal))


def mllp_server(settings: HubSettings, publisher: Publisher, engine: Engine | None = None) -> MllpServer:
    """The configured listener (not started); refusals are audited through `engine` (default: the settings')."""
    limits = Hl7Limits(settings.hl7_max_message_bytes, settings.hl7_max_field_bytes)
    intake = Hl7Intake(
        publisher,
        Hl7Mapping.bundled(),
        load_directory(settings.directory_file),
        limits=limits,
        bind_senders=settings.mllp_sender_binding == "enforce",
        on_refused=audit_refusals(engine or make_engine(settings.database_url())),
    )
    return MllpServer(intake, settings.mllp_host, settings.mllp_port, tls=mllp_tls_context(settings))
