"""Kafka TLS and SASL/SCRAM settings → librdkafka properties and Faust credentials, and proof that every Kafka
client the hub creates is given them.

No SASL or TLS broker runs here (the embedded broker, Tansu, is plaintext only), so the configs are checked by
librdkafka and Python's ssl module themselves: a real Producer/Consumer/AdminClient is constructed from each one
(librdkafka refuses unknown properties, a wrong mechanism and unreadable certificate or key files at
construction), and the Faust credentials carry a loaded SSLContext.
"""

from __future__ import annotations

import ast
import datetime as dt
import logging
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faust
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hub.kafka.security import KafkaClientConfig, KafkaSecurityError, faust_credentials, kafka_client_config
from hub.settings import HubSettings

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-Scram-pässword"  # noqa: S105 - a test value
MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A self-signed CA and a client certificate and key it signed, as PEM files (a Strimzi KafkaUser's)."""
    folder = tmp_path_factory.mktemp("pki")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cluster-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "onestory")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    files = {"ca": folder / "ca.crt", "cert": folder / "user.crt", "key": folder / "user.key"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    files["key"].chmod(0o600)
    return files


def settings(**given: Any) -> HubSettings:
    return HubSettings(kafka="broker-0.kafka:9093", **given)


def sasl(protocol: str, mechanism: str = "SCRAM-SHA-512", **given: Any) -> HubSettings:
    return settings(
        kafka_security_protocol=protocol,
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username="onestory",
        kafka_sasl_password=PASSWORD,
        **given,
    )


def construct_every_client(config: dict[str, str]) -> None:
    """librdkafka validates the properties, the mechanism and the TLS files when a client is created."""
    base = {"bootstrap.servers": "127.0.0.1:1", **config}
    Producer(base).flush(0)
    Consumer({**base, "group.id": "security-test"}).close()
    AdminClient(base)


def test_plaintext_adds_nothing() -> None:
    assert kafka_client_config(settings()) == {}
    assert faust_credentials(settings()) is None
    assert HubSettings().kafka_security_protocol == "PLAINTEXT"


def test_tls_with_the_cluster_ca(pki: dict[str, Path]) -> None:
    s = settings(kafka_security_protocol="SSL", kafka_ssl_ca_file=pki["ca"])
    config = kafka_client_config(s)
    assert config == {"security.protocol": "SSL", "ssl.ca.location": str(pki["ca"])}
    construct_every_client(config)
    credentials = faust_credentials(s)
    assert isinstance(credentials, faust.SSLCredentials)
    assert credentials.context.verify_mode == ssl.CERT_REQUIRED and credentials.context.check_hostname


def test_tls_without_a_ca_file_uses_the_system_cas() -> None:
    config = kafka_client_config(settings(kafka_security_protocol="SSL"))
    assert config == {"security.protocol": "SSL"}
    construct_every_client(config)


def test_mutual_tls(pki: dict[str, Path]) -> None:
    s = settings(
        kafka_security_protocol="SSL",
        kafka_ssl_ca_file=pki["ca"],
        kafka_ssl_cert_file=pki["cert"],
        kafka_ssl_key_file=pki["key"],
    )
    config = kafka_client_config(s)
    assert config == {
        "security.protocol": "SSL",
        "ssl.ca.location": str(pki["ca"]),
        "ssl.certificate.location": str(pki["cert"]),
        "ssl.key.location": str(pki["key"]),
    }
    construct_every_client(config)
    assert isinstance(faust_credentials(s), faust.SSLCredentials)  # load_cert_chain accepted the pair


def test_an_unreadable_client_key_is_refused_by_librdkafka(pki: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "user.key"
    bad.write_text("not a key")
    config = kafka_client_config(
        settings(kafka_security_protocol="SSL", kafka_ssl_cert_file=pki["cert"], kafka_ssl_key_file=bad)
    )
    with pytest.raises(Exception, match=r"(?i)ssl|key"):
        construct_every_client(config)


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_sasl_for_every_protocol_and_mechanism(protocol: str, mechanism: str, pki: dict[str, Path]) -> None:
    extra = {"kafka_ssl_ca_file": pki["ca"]} if protocol == "SASL_SSL" else {}
    s = sasl(protocol, mechanism, **extra)
    config = kafka_client_config(s)
    expected = {
        "security.protocol": protocol,
        "sasl.mechanism": mechanism,
        "sasl.username": "onestory",
        "sasl.password": PASSWORD,
    }
    if protocol == "SASL_SSL":
        expected["ssl.ca.location"] = str(pki["ca"])
    assert config == expected
    construct_every_client(config)
    credentials = faust_credentials(s)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.mechanism.value == mechanism
    assert (credentials.username, credentials.password) == ("onestory", PASSWORD)
    assert credentials.protocol.value == protocol
    assert (credentials.ssl_context is not None) == (protocol == "SASL_SSL")


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, pki: dict[str, Path]) -> None:
    """As the helm chart sets them: ConfigMap variables plus the password from a Secret."""
    monkeypatch.setenv("ONESTORY_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("ONESTORY_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("ONESTORY_KAFKA_SASL_USERNAME", "onestory")
    monkeypatch.setenv("ONESTORY_KAFKA_SASL_PASSWORD", PASSWORD)
    monkeypatch.setenv("ONESTORY_KAFKA_SSL_CA_FILE", str(pki["ca"]))
    config = kafka_client_config(HubSettings())
    assert config["sasl.password"] == PASSWORD and config["ssl.ca.location"] == str(pki["ca"])


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "ONESTORY_KAFKA_SASL_USERNAME"),
        ({"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_username": "u"}, "ONESTORY_KAFKA_SASL_PASSWORD"),
        (
            {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "u", "kafka_sasl_password": ""},
            "ONESTORY_KAFKA_SASL_PASSWORD",
        ),
        ({"kafka_ssl_ca_file": "/etc/ca.crt"}, "use SSL or SASL_SSL"),
        ({"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_ssl_ca_file": "/etc/ca.crt"}, "use SSL or SASL_SSL"),
        ({"kafka_security_protocol": "SSL", "kafka_ssl_cert_file": "/etc/user.crt"}, "KAFKA_SSL_KEY_FILE"),
    ],
)
def test_incomplete_settings_are_refused_with_the_fix(given: dict[str, Any], message: str) -> None:
    s = settings(**given)
    with pytest.raises(KafkaSecurityError, match=message):
        kafka_client_config(s)
    with pytest.raises(KafkaSecurityError, match=message):
        faust_credentials(s)


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_the_password_is_never_shown(protocol: str, caplog: pytest.LogCaptureFixture) -> None:
    s = sasl(protocol)
    config = kafka_client_config(s)
    assert isinstance(config, KafkaClientConfig) and config["sasl.password"] == PASSWORD
    shown = [repr(config), str(config), f"{config}", repr(s), str(s), s.model_dump_json(), repr(faust_credentials(s))]
    for text in shown:
        assert PASSWORD not in text
    assert "**********" in repr(config)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("onestory").info("kafka client config %s settings %s", config, s)
        Producer({"bootstrap.servers": "127.0.0.1:1", "logger": logging.getLogger("onestory.kafka"), **config})
    assert PASSWORD not in caplog.text


# Every Kafka client the hub creates, and the place it is created. A new construction elsewhere fails
# test_every_kafka_client_is_built_where_security_is_applied until it goes through one of these.
CLIENT_FACTORIES = {
    ("hub/kafka/producer.py", "Producer"),  # DurableProducer(config=...)
    ("hub/kafka/topics.py", "AdminClient"),  # admin(bootstrap, config)
    ("hub/worker/batch_consumer.py", "Consumer"),  # ConsumerSettings.security
    ("hub/worker/app.py", "App"),  # create_app(credentials=...)
}
# Benchmarks start their own embedded (plaintext) broker and never talk to a deployment's cluster.
EMBEDDED_ONLY = ("hub/bench/",)
CLIENT_CLASSES = {"Producer", "Consumer", "AdminClient", "App"}


def _constructions(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in CLIENT_CLASSES:
                if name == "App" and not (isinstance(func, ast.Attribute) and ast.unparse(func) == "faust.App"):
                    continue
                yield name


def test_every_kafka_client_is_built_where_security_is_applied() -> None:
    found: set[tuple[str, str]] = set()
    for package in ("hub", "connectors", "projections", "consent_engine"):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(EMBEDDED_ONLY):
                continue
            found |= {(rel, name) for name in _constructions(path)}
    assert found == CLIENT_FACTORIES


# The functions that build a client from a bootstrap string, and the keyword that carries the security.
SECURED_CALLS = {
    "DurableProducer": "config",
    "ensure_topics": "config",
    "topic_ids": "config",
    "ensure_feed_topics": "config",
    "create_app": "credentials",
}
# hub/stack.py (`onestory up`) is being restructured by another change; it must pass the settings the same way.
PENDING: set[str] = set()  # modules not yet passing the security settings (none)


def _unsecured_calls(path: Path) -> list[str]:
    missing = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        keyword = SECURED_CALLS.get(name)
        if name == "admin" and len(node.args) < 2 or keyword and keyword not in {k.arg for k in node.keywords}:
            missing.append(f"{name}:{node.lineno}")
    return missing


def test_every_client_built_by_a_command_is_given_the_security_settings() -> None:
    """The deployables (api, mllp, worker, topics and migrate Jobs) and the operator commands."""
    unsecured = {}
    for package in ("hub", "connectors", "projections"):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(EMBEDDED_ONLY) or rel in PENDING or rel.startswith("hub/kafka/"):
                continue
            if missing := _unsecured_calls(path):
                unsecured[rel] = missing
    assert unsecured == {}


def test_onestory_up_gives_its_clients_the_security_settings() -> None:
    assert _unsecured_calls(ROOT / "hub" / "stack.py") == []


def test_the_worker_gives_every_client_the_security_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pki: dict[str, Path]
) -> None:
    """build_worker_app with SASL_SSL settings: every client it creates is handed the same config."""
    from hub.commands import worker
    from hub.worker import batch_consumer

    seen: dict[str, Any] = {}

    class Stop(Exception):
        pass

    def fake(kind: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> Any:
            seen.setdefault(kind, []).append((args, kwargs))
            if kind == "BatchConsumer":
                raise Stop
            return {"topic_ids": {}}.get(kind)

        return record

    monkeypatch.setattr(worker, "ensure_topics", fake("ensure_topics"))
    monkeypatch.setattr(worker, "topic_ids", lambda *a, **k: fake("topic_ids")(*a, **k) or {})
    monkeypatch.setattr(worker, "ensure_feed_topics", fake("ensure_feed_topics"))
    monkeypatch.setattr(worker, "DurableProducer", fake("DurableProducer"))
    monkeypatch.setattr(worker, "record_policy_in_force", fake("record_policy_in_force"))
    monkeypatch.setattr(batch_consumer.BatchConsumer, "__init__", fake("BatchConsumer"))
    real_create_app = worker.create_app
    monkeypatch.setattr(worker, "create_app", lambda *a, **k: seen.setdefault("app", real_create_app(*a, **k)))
    s = sasl("SASL_SSL", kafka_ssl_ca_file=pki["ca"], data_dir=tmp_path, database=f"sqlite:///{tmp_path}/db")
    expected = kafka_client_config(s)
    with pytest.raises(Stop):
        worker.build_worker_app(s, 6066)
    for kind in ("ensure_topics", "topic_ids", "ensure_feed_topics", "DurableProducer"):
        assert seen[kind][0][1]["config"] == expected, kind
    consumer_settings = seen["BatchConsumer"][0][0][1]
    assert consumer_settings.security == expected
    credentials = seen["app"].conf.broker_credentials
    assert isinstance(credentials, faust.SASLCredentials) and credentials.protocol.value == "SASL_SSL"
