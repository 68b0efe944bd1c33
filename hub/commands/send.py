"""`onestory send hl7|fhir|csv|json FILE...`: test input into a running hub, the way Mirth users send test messages.

HL7 v2 goes over MLLP with the connector's own client framing (one connection per file, one ACK awaited per
message, TLS and mutual TLS as the listener takes them); FHIR, school CSV and social-care, VCSE and
self-referral JSON go to their HTTP intake with a system token (`--token`, or one signed with the hub's key
from `--data-dir` for the organisation the file names or `--org`). One line per message: the ACK code or HTTP
status and the hub's own reason. Exit 0 when everything was accepted, 1 when anything was refused, 2 when
nothing could be sent as asked (an unreadable file, an unreachable hub, a bad option).

Printed is only what the hub answered (its reasons never quote the input) and the message's own ids.
"""

from __future__ import annotations

import json
import socket
import ssl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from hub.commands.send_answers import Answer, ack_answer, describe, http_answer
from hub.commands.send_inputs import FORMATS, INTAKES, ROUTES, InputError, Message, messages


class Unreachable(Exception):
    """The hub cannot be reached at all: the run stops (exit 2)."""


# --- HL7 v2 over MLLP -------------------------------------------------------------------------------------------


def tls_context(enabled: bool, ca: Path | None, cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    """A client context for a listener with ONESTORY_MLLP_TLS_* set: its CA to trust, our certificate for mTLS."""
    if not (enabled or ca or cert):
        return None
    if key and not cert:
        raise click.BadParameter("--mllp-tls-key needs --mllp-tls-cert", param_hint="--mllp-tls-key")
    try:
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if cert:
            context.load_cert_chain(str(cert), str(key) if key else None)
    except (OSError, ssl.SSLError) as exc:
        raise click.UsageError(f"cannot load the TLS files: {getattr(exc, 'strerror', None) or exc}") from None
    return context


@contextmanager
def mllp_connection(
    host: str, port: int, timeout: float, tls: ssl.SSLContext | None, server_name: str | None
) -> Iterator[socket.socket]:
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise Unreachable(
            f"cannot reach the hub's MLLP listener at {host}:{port} ({exc.strerror or type(exc).__name__}); "
            "is `onestory up` running? (--host, --mllp-port)"
        ) from None
    try:
        try:
            sock = tls.wrap_socket(raw, server_hostname=server_name or host) if tls else raw
        except (ssl.SSLError, OSError) as exc:
            raise Unreachable(f"TLS with the MLLP listener at {host}:{port} failed: {exc}") from None
        yield sock
    finally:
        raw.close()


def send_hl7(file_messages: list[Message], opts: SendOptions) -> Iterator[Answer]:
    """One connection per file; each message waits for its ACK before the next, as an interface engine sends."""
    from connectors.hl7v2.mllp import frame
    from connectors.hl7v2.mllp_client import read_acks

    pending = list(file_messages)
    while pending:
        with mllp_connection(opts.host, opts.mllp_port, opts.timeout, opts.tls, opts.tls_server_name) as sock:
            while pending:
                message = pending.pop(0)
                what = describe(message.body)
                try:
                    sock.sendall(frame(message.body))
                    ack = read_acks(sock)[0]
                except (OSError, ConnectionError) as exc:
                    reason = "no ACK in time" if isinstance(exc, TimeoutError) else f"no ACK ({exc})"
                    yield Answer(message, "no-ack", False, problems=[reason], what=what)
                    break  # the connection is in doubt: a new one for the rest
                yield ack_answer(message, ack, what)


# --- HTTP intake ------------------------------------------------------------------------------------------------


def send_http(message: Message, opts: SendOptions, client: Any) -> Answer:
    import httpx

    headers = {"Content-Type": message.content_type}
    if message.intake != "self-referral":
        headers["Authorization"] = f"Bearer {opts.token_for(message)}"
    url = f"{opts.api}{ROUTES[message.intake]}"
    try:
        reply = client.post(url, content=message.body, headers=headers, params=message.params)
    except httpx.TimeoutException:
        return Answer(message, "timeout", False, problems=[f"no answer within {opts.timeout:g} s"])
    except httpx.TransportError as exc:
        raise Unreachable(
            f"cannot reach the hub's HTTP intake at {opts.api} ({exc or type(exc).__name__}); "
            "is `onestory up` running? (--host, --port)"
        ) from None
    try:
        body = reply.json()
    except ValueError:
        body = None
    return http_answer(message, reply.status_code, body)


# --- the command ------------------------------------------------------------------------------------------------


@dataclass
class SendOptions:
    host: str
    port: int
    mllp_port: int
    timeout: float
    token: str | None
    org: str | None
    data_dir: Path
    tls: ssl.SSLContext | None
    tls_server_name: str | None
    scheme: str = "http"
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def api(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def check(self, message: Message) -> None:
        """Before anything is sent: every HTTP message but the public form can have its token."""
        from hub.auth.tokens import has_signing_key

        if message.intake in ("hl7", "self-referral") or self.token:
            return
        if (self.org or message.org) is None:
            raise click.UsageError(
                f"{message.file} does not name its sending organisation: give --org CODE "
                "(with the hub's --data-dir) or --token"
            )
        if not has_signing_key(self.data_dir):
            raise click.UsageError(f"{self.data_dir} holds no signing key: give the hub's --data-dir, or --token")

    def token_for(self, message: Message) -> str:
        """--token as given; else a system token for the sending organisation, signed with the hub's key."""
        if self.token:
            return self.token
        org = self.org or message.org
        assert org is not None  # check() came first
        if org not in self._tokens:
            from hub.auth.tokens import issue_token, load_or_create_signing_key

            key = load_or_create_signing_key(self.data_dir)
            self._tokens[org] = issue_token(
                key,
                user=f"onestory-send-{org}",
                organisation=org,
                role="system",
                purpose="direct-care",
                now=datetime.now(UTC),
                ttl=timedelta(hours=1),
            )
        return self._tokens[org]


def _read_all(fmt: str, files: tuple[Path, ...], intake: str | None, record_type: str | None) -> list[list[Message]]:
    if fmt == "hl7" and (intake or record_type):
        raise click.UsageError("--intake and --type are for csv and json files")
    if fmt == "fhir" and (intake or record_type):
        raise click.UsageError("--intake and --type are for csv and json files (FHIR has its own intake)")
    if fmt == "json" and record_type:
        raise click.UsageError("--type is for csv files")
    try:
        return [messages(fmt, path, intake, record_type) for path in files]
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


@click.command()
@click.argument("fmt", metavar="FORMAT", type=click.Choice(FORMATS))
@click.argument("files", metavar="FILE...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Where the hub runs.")
@click.option(
    "--port", "--api-port", "port", type=int, default=8080, show_default=True, help="HTTP port (`up --api-port`)."
)
@click.option("--mllp-port", type=int, default=2575, show_default=True, help="MLLP port (`up --mllp-port`).")
@click.option("--https", is_flag=True, help="Use HTTPS for the HTTP intake (behind a TLS-terminating proxy).")
@click.option(
    "--intake",
    type=click.Choice(INTAKES),
    default=None,
    help="json: which intake (default: from the file's envelope field school_urn, la_code, organisation or "
    "requester); csv: education (default) or social-care (SSDA903).",
)
@click.option(
    "--type",
    "record_type",
    default=None,
    help="csv: the record type (pupils, attendance, exclusions, sen, concerns, referrals, consents, competence; "
    "SSDA903: ssda903-header, ssda903-episodes). Default: the word in the file name, e.g. 100001_attendance.csv.",
)
@click.option("--token", envvar="ONESTORY_TOKEN", default=None, help="A system token for the HTTP intake.")
@click.option("--org", default=None, help="Send as this organisation (a system token signed with the hub's key).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var"),
    show_default=True,
    help="The hub's data directory: its key signs the system token when --token is not given.",
)
@click.option("--mllp-tls", is_flag=True, help="MLLP over TLS, trusting the system's CAs (or --mllp-tls-ca).")
@click.option(
    "--mllp-tls-ca",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CA bundle for the listener's certificate (implies TLS).",
)
@click.option(
    "--mllp-tls-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Client certificate chain for mutual TLS (PEM).",
)
@click.option(
    "--mllp-tls-key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The client certificate's key (PEM), unless in the cert file.",
)
@click.option(
    "--mllp-tls-server-name", default=None, help="Name to check the listener's certificate against (default: --host)."
)
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds to wait for each ACK or answer.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per message (with the accepted event ids).")
def send(
    fmt: str,
    files: tuple[Path, ...],
    host: str,
    port: int,
    mllp_port: int,
    https: bool,
    intake: str | None,
    record_type: str | None,
    token: str | None,
    org: str | None,
    data_dir: Path,
    mllp_tls: bool,
    mllp_tls_ca: Path | None,
    mllp_tls_cert: Path | None,
    mllp_tls_key: Path | None,
    mllp_tls_server_name: str | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Send FILEs to a running hub: hl7 (v2, over MLLP), fhir (a Bundle or a resource), csv (school MIS export,
    or SSDA903 with --intake social-care), json (school, social-care, VCSE or self-referral).

    An HL7 file may hold many messages (segments separated by CR or LF, each message starting at MSH, or
    MLLP-framed); a JSON or FHIR file one document or one per line. Prints one line per message with the ACK
    code or HTTP status and the hub's reason. Exit 0: all accepted; 1: something refused; 2: nothing sent as asked.
    """
    batches = _read_all(fmt, files, intake, record_type)
    opts = SendOptions(
        host,
        port,
        mllp_port,
        timeout,
        token,
        org,
        data_dir,
        tls_context(mllp_tls, mllp_tls_ca, mllp_tls_cert, mllp_tls_key),
        mllp_tls_server_name,
        "https" if https else "http",
    )
    for batch in batches:
        for message in batch:
            opts.check(message)
    total = sum(len(b) for b in batches)
    refused = 0
    try:
        for answer in _answers(batches, opts):
            refused += not answer.accepted
            click.echo(json.dumps(answer.as_json()) if as_json else answer.line())
    except Unreachable as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    if not as_json:
        click.echo(
            f"sent {total} message{'s' if total != 1 else ''}: {total - refused} accepted, "
            f"{refused} refused in whole or in part"
        )
    if refused:
        raise SystemExit(1)


def _answers(batches: list[list[Message]], opts: SendOptions) -> Iterator[Answer]:
    import httpx

    with httpx.Client(timeout=opts.timeout) as client:
        for number, batch in enumerate(batches, 1):
            if len(batches) > 1:
                count = f"{len(batch)} message{'s' if len(batch) != 1 else ''}"
                click.echo(f"[{number}/{len(batches)}] {batch[0].file}: {count}", err=True)
            if batch[0].intake == "hl7":
                yield from send_hl7(batch, opts)
            else:
                for message in batch:
                    yield send_http(message, opts, client)
            sys.stderr.flush()
