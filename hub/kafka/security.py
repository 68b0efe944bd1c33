"""Kafka client security (TLS, mutual TLS, SASL/SCRAM) from the settings, for every client the hub creates.

One function per client library, both from the same ``HubSettings`` fields: `kafka_client_config` gives the
librdkafka properties merged into every confluent-kafka Producer, Consumer and AdminClient (DurableProducer,
the topic admin, the hot path's BatchConsumer), and `faust_credentials` gives the Faust app's
``broker_credentials`` (aiokafka underneath). PLAINTEXT, the default and the embedded broker's only mode,
adds nothing, so a plaintext client is configured exactly as before.

The SASL password leaves its ``SecretStr`` only inside the returned mapping, whose ``repr`` masks it, so a
config that reaches a log line or a traceback does not carry it.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import TYPE_CHECKING

import faust

if TYPE_CHECKING:
    from hub.settings import HubSettings

TLS_PROTOCOLS = frozenset({"SSL", "SASL_SSL"})
SASL_PROTOCOLS = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})
SECRET_KEYS = frozenset({"sasl.password", "ssl.key.password"})
MASK = "**********"


class KafkaSecurityError(ValueError):
    """The Kafka security settings contradict each other or are incomplete; the message names the fix."""


class KafkaClientConfig(dict[str, str]):
    """librdkafka properties; a plain dict to the client, with the password masked in its repr."""

    def __repr__(self) -> str:
        shown = {k: (MASK if k in SECRET_KEYS else v) for k, v in self.items()}
        return f"KafkaClientConfig({shown!r})"

    __str__ = __repr__


def _check(settings: HubSettings) -> None:
    protocol = settings.kafka_security_protocol
    cert, key = settings.kafka_ssl_cert_file, settings.kafka_ssl_key_file
    tls_files = [f for f in (settings.kafka_ssl_ca_file, cert, key) if f is not None]
    if tls_files and protocol not in TLS_PROTOCOLS:
        raise KafkaSecurityError(
            f"ONESTORY_KAFKA_SSL_* files are set but ONESTORY_KAFKA_SECURITY_PROTOCOL is {protocol}: "
            "use SSL or SASL_SSL, or unset the files"
        )
    if (cert is None) != (key is None):
        raise KafkaSecurityError("mutual TLS needs both ONESTORY_KAFKA_SSL_CERT_FILE and ONESTORY_KAFKA_SSL_KEY_FILE")
    if protocol in SASL_PROTOCOLS:
        password = settings.kafka_sasl_password
        if not settings.kafka_sasl_username or password is None or not password.get_secret_value():
            raise KafkaSecurityError(
                f"ONESTORY_KAFKA_SECURITY_PROTOCOL={protocol} needs ONESTORY_KAFKA_SASL_USERNAME and "
                "ONESTORY_KAFKA_SASL_PASSWORD (Strimzi: the KafkaUser's name and the password in its Secret)"
            )


def kafka_client_config(settings: HubSettings) -> KafkaClientConfig:
    """The librdkafka security properties for `settings`; empty for PLAINTEXT.

    Raises KafkaSecurityError when the settings are incomplete (SASL without a user or password, a client
    certificate without its key, TLS files with a protocol that does not use TLS).
    """
    _check(settings)
    protocol = settings.kafka_security_protocol
    config = KafkaClientConfig()
    if protocol == "PLAINTEXT":
        return config
    config["security.protocol"] = protocol
    if protocol in TLS_PROTOCOLS:
        for prop, path in (
            ("ssl.ca.location", settings.kafka_ssl_ca_file),
            ("ssl.certificate.location", settings.kafka_ssl_cert_file),
            ("ssl.key.location", settings.kafka_ssl_key_file),
        ):
            if path is not None:
                config[prop] = str(path)
    if protocol in SASL_PROTOCOLS:
        assert settings.kafka_sasl_password is not None  # _check
        config["sasl.mechanism"] = settings.kafka_sasl_mechanism
        config["sasl.username"] = settings.kafka_sasl_username
        config["sasl.password"] = settings.kafka_sasl_password.get_secret_value()
    return config


def _ssl_context(ca: Path | None, cert: Path | None, key: Path | None) -> ssl.SSLContext:
    """Verifies the broker's certificate and host name, as librdkafka does by default."""
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    if cert is not None and key is not None:
        context.load_cert_chain(str(cert), str(key))
    return context


def faust_credentials(settings: HubSettings) -> faust.SASLCredentials | faust.SSLCredentials | None:
    """The Faust app's ``broker_credentials`` for the same settings; None for PLAINTEXT."""
    _check(settings)
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = None
    if protocol in TLS_PROTOCOLS:
        context = _ssl_context(settings.kafka_ssl_ca_file, settings.kafka_ssl_cert_file, settings.kafka_ssl_key_file)
    if protocol in SASL_PROTOCOLS:
        assert settings.kafka_sasl_password is not None  # _check
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password.get_secret_value(),
            ssl_context=context,
            mechanism=settings.kafka_sasl_mechanism,
        )
    assert context is not None
    return faust.SSLCredentials(context)
