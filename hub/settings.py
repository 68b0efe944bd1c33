"""Configuration of a OneStory deployable: one `HubSettings`, built once in its ``main()`` and passed down.

Every field maps 1:1 to an ``ONESTORY_*`` environment variable and to a helm value; its two sections keep the
prefixes operators already use: `outbound` (``ONESTORY_OUTBOUND_*``, feed delivery) and `telemetry` (the
standard ``OTEL_*``). Nothing reads the environment or connects at import time, and nothing below a command's
entry point builds settings of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.telemetry.settings import TelemetrySettings


class OutboundSettings(BaseSettings):
    """Feed delivery (hub.outbound): who subscribes and the alert policy are YAML; timing is tunable."""

    model_config = SettingsConfigDict(env_prefix="ONESTORY_OUTBOUND_", extra="ignore")

    subscribers_file: Path | None = Field(None, description="feed subscribers YAML; None = the bundled one")
    alerts_file: Path | None = Field(None, description="alert policy YAML; None = the bundled one")
    retry_base_seconds: float = Field(2.0, description="first retry delay of a failed rest-hook delivery")
    retry_max_seconds: float = Field(600.0, description="longest delay between two delivery attempts")
    max_attempts: int = Field(8, description="attempts before a delivery goes to the dead-letter store")
    concurrency: int = Field(4, description="rest-hook deliveries in flight at once, per worker")
    request_timeout: float = Field(10.0, description="seconds to wait for a rest-hook endpoint")
    poll_seconds: float = Field(0.25, description="how often the outbox and the delivery queue are polled")


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONESTORY_", extra="ignore")

    # The sections with prefixes of their own, read from the environment when the deployable's settings are built.
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)

    data_dir: Path = Field(Path("var"), description="Keys, the SQLite database and local state live here.")
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    mllp_host: str = "127.0.0.1"
    mllp_port: int = 2575
    kafka: str | None = Field(None, description="bootstrap servers of an external cluster; None = embedded broker")
    database: str | None = Field(None, description="SQLAlchemy URL; None = SQLite file in the data dir")
    partitions: int = 6
    intake_journal: Literal["auto", "on", "off"] = Field(
        "auto",
        description="commit accepted input to SQL before answering the sender (hub.kafka.journal); "
        "auto = on with the embedded broker, off with an external Kafka whose acks=all is durable",
    )
    demo: bool = True
    oidc_issuer: str | None = Field(None, description="external issuer; None = the hub signs its own tokens")
    oidc_jwks_url: str | None = None
    oidc_audience: str = "onestory"
    smart_redirect_uris: list[str] = Field(
        default_factory=list, description="SMART redirect URIs accepted besides the hub's own viewer page"
    )
    smart_authorization_endpoint: str | None = Field(None, description="with oidc_issuer: the issuer's authorize URL")
    smart_token_endpoint: str | None = Field(None, description="with oidc_issuer: the issuer's token URL")
    viewer_frame_ancestors: str = Field(
        "'self'", description="CSP frame-ancestors for the viewer page: the EPR origins allowed to embed it"
    )
    worker_web_port: int = 0
    worker_steps: str = Field(
        "identity,timeline,outbound",
        description="hot-path steps a worker runs (comma-separated); split them over processes to use more cores",
    )
    policy_file: str | None = Field(None, description="data-sharing policy YAML; None = the bundled default")
    directory_file: str | None = Field(
        None, description="organisation directory YAML (codes, types, HL7 MSH-4 values); None = the bundled default"
    )
    topic_replication_factor: int = Field(1, description="replication factor of topics this hub creates")
    log_level: str = Field("warning", description="root log level: debug, info, warning, error")
    log_format: Literal["json", "text"] = Field("json", description="json: one object a line, with trace ids")
    telemetry_file: Path | None = Field(None, description="also write spans, metrics and logs here as JSON lines")

    # Kafka client security, applied to every confluent-kafka client and the Faust app (hub/kafka/security.py).
    # Production clusters (Strimzi listeners) want TLS and a SCRAM user; the embedded broker is PLAINTEXT only.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="PLAINTEXT, SSL (TLS, optionally mutual), SASL_PLAINTEXT or SASL_SSL"
    )
    kafka_ssl_ca_file: Path | None = Field(None, description="PEM CA bundle for the brokers; None = system CAs")
    kafka_ssl_cert_file: Path | None = Field(None, description="mutual TLS: the client certificate (PEM)")
    kafka_ssl_key_file: Path | None = Field(None, description="mutual TLS: the client private key (PEM)")
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str = Field("", description="SASL user (Strimzi: the KafkaUser's name)")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL password, from a Secret; never logged")
    # PostgreSQL TLS, passed to psycopg as libpq connection parameters by hub/db/engine.py (not SQLite).
    database_sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = Field(
        None, description="libpq sslmode; None = libpq's default (prefer); production: verify-full"
    )
    database_sslrootcert: Path | None = Field(None, description="CA that signed the server certificate (PEM)")
    database_sslcert: Path | None = Field(None, description="client certificate for certificate authentication")
    database_sslkey: Path | None = Field(None, description="client private key (mode 0600, or 0640 if root-owned)")

    # "My story" (docs/my-story.md): how long a practitioner's one-time code and a signed-in session last, and
    # how many wrong tries lock a code (the lock is audited and raises an IG alert).
    my_story_code_days: int = Field(14, ge=1, le=90, description="days a My story access code stays usable")
    my_story_session_minutes: int = Field(30, ge=5, le=240, description="minutes a My story session lasts")
    my_story_max_tries: int = Field(5, ge=1, le=20, description="wrong tries that lock a My story access code")

    def journal_enabled(self) -> bool:
        return self.intake_journal == "on" or (self.intake_journal == "auto" and not self.kafka)

    # HTTP intake limits (docs/events.md "Limits on HTTP intake"). Checked before any parser sees the body; over
    # one, the sender gets 413 (body) or 422 (depth, string) naming the limit and its ONESTORY_* variable, and the
    # input is kept as a dead letter (of an oversized body, only the first max-body bytes and its true size).
    intake_max_body_bytes: int = Field(
        10 * 1024 * 1024, ge=1, description="largest body of POST /intake/fhir, /education, /social-care and /vcse"
    )
    self_referral_max_body_bytes: int = Field(
        256 * 1024, ge=1, description="largest body of the public POST /intake/self-referral (a form, not an export)"
    )
    intake_max_json_depth: int = Field(
        64, ge=2, le=500, description="deepest nesting of JSON arrays and objects (a FHIR Bundle needs about 12)"
    )
    intake_max_string_bytes: int = Field(
        1024 * 1024,
        ge=1,
        description="longest JSON string as sent, escapes included; no mapped resource carries attachments inline",
    )

    # HL7 v2 over MLLP (README "HL7 v2 senders", docs/organisations.md "MLLP senders"): limits checked before
    # parsing (over one: AR naming it, the message dead-lettered; a frame over 4x the message limit is discarded
    # unread and answered AR), TLS on the listener (with a client CA: mutual TLS, a client certificate required),
    # and whether a connection may send only as the organisations the directory binds it to.
    hl7_max_message_bytes: int = Field(
        2 * 1024 * 1024, ge=1024, description="largest HL7 v2 message taken (real ones are a few KB; no documents)"
    )
    hl7_max_field_bytes: int = Field(64 * 1024, ge=256, description="longest single HL7 field, repetitions included")
    mllp_tls_cert_file: Path | None = Field(None, description="listener certificate chain (PEM); None = plain TCP")
    mllp_tls_key_file: Path | None = Field(None, description="the listener certificate's private key (PEM)")
    mllp_tls_client_ca_file: Path | None = Field(
        None, description="CA bundle for client certificates: set = mutual TLS, a client without one is refused"
    )
    mllp_sender_binding: Literal["enforce", "off"] = Field(
        "enforce",
        description="enforce: a message is refused (AR, audited) unless the directory binds its connection (address "
        "or client-certificate CN) to MSH-4's organisation; off: MSH-4 alone says who sent it",
    )

    def database_url(self) -> str:
        if self.database:
            return self.database
        return f"sqlite:///{(self.data_dir / 'onestory.db').resolve()}"
