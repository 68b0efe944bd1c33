"""MLLP that can be trusted and never leaves a sender hanging, over real sockets (plain TCP and TLS).

An MllpServer built the way the hub builds it (hub.mllp_edge.mllp_server, from settings) with a real
Hl7Intake: over-limit messages get AR naming the limit and are kept in the SQL dead-letter store; a peer that
does not frame its messages is dropped at once; a connection may send only as the organisations the directory
binds it to (by address or by TLS client certificate), a refusal is audited; random and mutated bytes always
get exactly one readable ACK per frame.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from connectors.hl7v2.mllp import END, frame
from connectors.hl7v2.mllp_client import ack_code, read_acks, send_message
from connectors.hl7v2.mllp_server import MllpServer
from connectors.hl7v2.parse import read_header
from connectors.publisher import Publisher
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.db.tables import audit_log, deadletters
from hub.events.codec import EventCodec
from hub.kafka.embedded_broker import EmbeddedBroker
from hub.kafka.producer import DurableProducer
from hub.kafka.topics import ensure_topics
from hub.mllp_edge import SENDER_REFUSED, mllp_server
from hub.settings import HubSettings
from tests.conftest import hl7_samples
from tests.unit.connectors.fakes import MemoryPublisher

pytestmark = pytest.mark.integration

DIRECTORY = """\
organisations:
  - code: A81001
    code_system: ods
    type: gp-practice
    name: Riverside Medical Practice
    hl7_facilities: [RIVERSIDE-EMIS]
    mllp: {certificates: [riverside-emis.test]}
  - code: RX1
    code_system: ods
    type: acute-trust
    name: Northshire Hospitals
    hl7_facilities: [NSH-PAS]
    mllp: {addresses: [127.0.0.1/32]}
  - code: RX4
    code_system: ods
    type: camhs
    name: Northshire CAMHS
    hl7_facilities: [NCAMHS-PAS]
    mllp: {addresses: [192.0.2.0/24]}
"""


def adt(facility: str, control: str, name: str = "Trust^Tess") -> bytes:
    return (
        f"MSH|^~\\&|PAS|{facility}|ONESTORY|HUB|20261101093000||ADT^A04|{control}|P|2.4\r"
        "EVN|A04|20261101093000\r"
        f"PID|1||L{control}^^^{facility}^MR~9434765870^^^NHS^NH||{name}||20120304|F\r"
        "PV1|1|O|CLINIC\r"
    ).encode()


# -- certificates ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    clients: dict[str, tuple[Path, Path]]  # CN -> (cert, key)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(
    folder: Path, cn: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None, **kind: bool
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer[0].subject if issuer else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=kind.get("ca", False), path_length=None), critical=True)
    )
    if kind.get("server"):
        san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    cert_path, key_path = folder / f"{cn}.crt", folder / f"{cn}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert, key, cert_path, key_path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca_cert, ca_key, ca_path, _ = _issue(folder, "OneStory test CA", None, ca=True)
    _, _, server_cert, server_key = _issue(folder, "mllp.test", (ca_cert, ca_key), server=True)
    clients = {}
    for cn in ("riverside-emis.test", "impostor.test"):
        _, _, cert, key = _issue(folder, cn, (ca_cert, ca_key))
        clients[cn] = (cert, key)
    return Pki(ca_path, server_cert, server_key, clients)


def client_context(pki: Pki, cn: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca))
    if cn is not None:
        context.load_cert_chain(*pki.clients[cn])
    return context


# -- a listener on its own event loop ----------------------------------------------------------------------


class Listener:
    def __init__(self, server: MllpServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(server.start(), self.loop).result(10)

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self.server.port

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    built = make_engine(f"sqlite:///{tmp_path / 'onestory.db'}")
    upgrade(built)
    yield built
    built.dispose()


@pytest.fixture
def hub_settings(tmp_path: Path) -> HubSettings:
    path = tmp_path / "organisations.yaml"
    path.write_text(DIRECTORY, encoding="utf-8")
    return HubSettings(data_dir=tmp_path, mllp_port=0, directory_file=str(path))


@pytest.fixture(scope="module")
def producer(broker: EmbeddedBroker) -> Iterator[DurableProducer]:
    ensure_topics(broker.bootstrap, 1)
    made = DurableProducer(broker.bootstrap, client_id="test-mllp-trust")
    yield made
    made.close()


def listen(settings: HubSettings, publisher: Any, engine: Engine | None) -> Listener:
    return Listener(mllp_server(settings, publisher, engine))


@pytest.fixture
def plain(hub_settings: HubSettings, producer: DurableProducer, engine: Engine) -> Iterator[Listener]:
    listener = listen(hub_settings, Publisher(producer, EventCodec.load(), deadletter_store=engine), engine)
    yield listener
    listener.close()


@pytest.fixture
def mutual_tls(hub_settings: HubSettings, pki: Pki, engine: Engine) -> Iterator[tuple[Listener, MemoryPublisher]]:
    tls = hub_settings.model_copy(
        update={
            "mllp_tls_cert_file": pki.server_cert,
            "mllp_tls_key_file": pki.server_key,
            "mllp_tls_client_ca_file": pki.ca,
        }
    )
    publisher = MemoryPublisher()
    listener = listen(tls, publisher, engine)
    yield listener, publisher
    listener.close()


def audit_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == SENDER_REFUSED)).all())


# -- limits and framing ------------------------------------------------------------------------------------


def test_a_5_mb_message_gets_ar_naming_the_size_limit_and_is_kept(plain: Listener, engine: Engine) -> None:
    raw = adt("NSH-PAS", "BIG0001", name="Long^" + "N" * (5 * 1024 * 1024))
    started = time.monotonic()
    ack = send_message(*plain.address, raw, timeout=30)
    assert ack_code(ack) == "AR", ack[:300]
    assert b"hl7_max_message_bytes" in ack and b"2,097,152 bytes" in ack and b"NNNN" not in ack
    assert b"|BIG0001" in ack  # MSA-2 echoes the control id
    with engine.connect() as conn:
        (row,) = conn.execute(select(deadletters)).all()
    assert row.phase == "limit" and bytes(row.body) == raw and "hl7_max_message_bytes" in row.reason
    assert time.monotonic() - started < 20


def test_a_frame_far_over_the_limit_is_read_to_its_end_and_answered_ar(
    hub_settings: HubSettings, engine: Engine
) -> None:
    small = hub_settings.model_copy(update={"hl7_max_message_bytes": 64 * 1024})
    publisher = MemoryPublisher()
    listener = listen(small, publisher, engine)
    try:
        raw = adt("NSH-PAS", "HUGE001", name="H" * (1024 * 1024))  # over 4x the limit: discarded unread
        with socket.create_connection(listener.address, timeout=10) as sock:
            sock.sendall(frame(raw))
            (ack,) = read_acks(sock)
            assert ack_code(ack) == "AR" and b"|HUGE001" in ack and b"not read or kept" in ack
            assert sock.recv(100) == b""  # and the connection is closed
        assert not publisher.dead and not publisher.events
    finally:
        listener.close()


def test_a_peer_that_sends_without_a_start_byte_is_dropped_at_once(
    plain: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.create_connection(plain.address, timeout=5) as sock:
        started = time.monotonic()
        sock.sendall(adt("NSH-PAS", "NOFRAME1") + b"\r\n")  # an HL7 message, no MLLP framing
        received = sock.recv(65536)
        elapsed = time.monotonic() - started
    assert received == b"" and elapsed < 1.0
    assert "0x4d outside a frame" in caplog.text and "Tess" not in caplog.text


# -- sender binding by address -----------------------------------------------------------------------------


def test_a_sender_bound_to_its_address_is_accepted(plain: Listener, engine: Engine) -> None:
    assert ack_code(send_message(*plain.address, adt("NSH-PAS", "BIND0001"), timeout=30)) == "AA"
    assert not audit_rows(engine)


def test_a_sender_from_an_address_not_bound_to_msh4_is_refused_and_audited(plain: Listener, engine: Engine) -> None:
    raw = adt("NCAMHS-PAS", "BIND0002")  # RX4 sends only from 192.0.2.0/24
    ack = send_message(*plain.address, raw, timeout=30)
    assert ack_code(ack) == "AR" and b"MSH-4 'NCAMHS-PAS' is not bound to this connection" in ack
    with engine.connect() as conn:
        (kept,) = conn.execute(select(deadletters)).all()
    assert kept.phase == "sender-binding" and bytes(kept.body) == raw
    (record,) = audit_rows(engine)
    assert record.outcome == "denied" and record.organisation == "RX4" and record.client_address == "127.0.0.1"
    assert record.query == "MSH-4=NCAMHS-PAS" and record.detail["deadletterId"] == kept.id
    assert "Tess" not in str(record._mapping)


def test_with_binding_off_msh4_alone_decides(hub_settings: HubSettings, engine: Engine) -> None:
    publisher = MemoryPublisher()
    listener = listen(hub_settings.model_copy(update={"mllp_sender_binding": "off"}), publisher, engine)
    try:
        assert ack_code(send_message(*listener.address, adt("NCAMHS-PAS", "OFF00001"), timeout=10)) == "AA"
    finally:
        listener.close()


# -- TLS and sender binding by client certificate ----------------------------------------------------------


def test_plain_tcp_to_a_tls_listener_gets_nothing(mutual_tls: tuple[Listener, MemoryPublisher]) -> None:
    listener, publisher = mutual_tls
    with socket.create_connection(listener.address, timeout=10) as sock:
        sock.sendall(frame(adt("RIVERSIDE-EMIS", "TLS00001")))
        try:
            reply = sock.recv(65536)
        except ConnectionResetError:
            reply = b""
    assert b"MSA" not in reply and not publisher.events


def test_tls_without_a_client_certificate_is_refused(pki: Pki, mutual_tls: tuple[Listener, MemoryPublisher]) -> None:
    listener, publisher = mutual_tls
    with pytest.raises((ssl.SSLError, ConnectionError)):
        send_message(*listener.address, adt("RIVERSIDE-EMIS", "TLS00002"), 10, client_context(pki, None))
    assert not publisher.events and not publisher.dead


def test_a_bound_client_certificate_gets_aa(pki: Pki, mutual_tls: tuple[Listener, MemoryPublisher]) -> None:
    listener, publisher = mutual_tls
    ack = send_message(
        *listener.address, adt("RIVERSIDE-EMIS", "TLS00003"), 10, client_context(pki, "riverside-emis.test")
    )
    assert ack_code(ack) == "AA", ack
    assert publisher.events[0]["source"]["organisation"] == "A81001"


def test_a_valid_certificate_not_bound_to_msh4_is_refused_and_audited(
    pki: Pki, mutual_tls: tuple[Listener, MemoryPublisher], engine: Engine
) -> None:
    listener, publisher = mutual_tls
    ack = send_message(*listener.address, adt("RIVERSIDE-EMIS", "TLS00004"), 10, client_context(pki, "impostor.test"))
    assert ack_code(ack) == "AR" and b"client certificate CN 'impostor.test'" in ack
    assert not publisher.events and publisher.dead[0]["phase"] == "sender-binding"
    (record,) = audit_rows(engine)
    assert record.user_id == "cn:impostor.test" and record.organisation == "A81001"


# -- whatever arrives, one readable ACK per frame ----------------------------------------------------------

SAMPLES = [p.read_bytes() for p in hl7_samples()]


@st.composite
def mutated(draw: Any) -> bytes:
    raw = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, max(len(raw) - 1, 0)))
        op = draw(st.sampled_from(["flip", "delete", "insert"]))
        if op == "flip" and raw:
            raw[pos] = draw(st.sampled_from(list(b"|^~\\&\r\n x0AZ\x00\xff\x0b")))
        elif op == "delete" and raw:
            del raw[pos : pos + draw(st.integers(1, 40))]
        else:
            raw[pos:pos] = draw(st.binary(min_size=1, max_size=20))
    return bytes(raw)


bodies = st.lists(st.one_of(mutated(), st.binary(max_size=300)).filter(lambda b: END not in b), min_size=1, max_size=3)


def readable_code(ack: bytes) -> str:
    """MSA-1 of an ACK that our own header reader and its own delimiters can read."""
    text = ack.decode("utf-8")
    header = read_header(text.split("\r")[0])
    (msa,) = [s for s in text.split("\r") if s.startswith("MSA")]
    return msa.split(header.delimiters.field)[1]


@pytest.fixture(scope="module")
def fuzz_listener(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Listener]:
    folder = tmp_path_factory.mktemp("fuzz")
    settings_ = HubSettings(data_dir=folder, mllp_port=0, mllp_sender_binding="off")
    listener = listen(settings_, MemoryPublisher(), None)
    yield listener
    listener.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bodies)
def test_every_frame_gets_exactly_one_readable_ack(fuzz_listener: Listener, messages: list[bytes]) -> None:
    with socket.create_connection(fuzz_listener.address, timeout=10) as sock:
        sock.sendall(b"".join(frame(m) for m in messages))
        acks = read_acks(sock, len(messages))
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(65536) == b""  # exactly one each: nothing more follows
    assert [readable_code(a) in ("AA", "AE", "AR", "CA", "CE", "CR") for a in acks] == [True] * len(messages)
