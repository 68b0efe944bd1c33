"""The MLLP listener's TLS settings: plain TCP unless a certificate is set; unusable settings fail at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.mllp_edge import MllpTlsError, mllp_tls_context
from hub.settings import HubSettings


def test_no_certificate_is_plain_tcp_and_the_defaults_enforce_binding() -> None:
    settings = HubSettings()
    assert mllp_tls_context(settings) is None
    assert settings.mllp_sender_binding == "enforce"
    assert settings.hl7_max_message_bytes == 2 * 1024 * 1024 and settings.hl7_max_field_bytes == 64 * 1024


def test_a_key_or_client_ca_without_a_certificate_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MllpTlsError, match="without ONESTORY_MLLP_TLS_CERT_FILE"):
        mllp_tls_context(HubSettings(mllp_tls_client_ca_file=tmp_path / "ca.pem"))


def test_an_unreadable_certificate_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    with pytest.raises(MllpTlsError, match="missing.pem"):
        mllp_tls_context(HubSettings(mllp_tls_cert_file=missing, mllp_tls_key_file=missing))


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONESTORY_MLLP_SENDER_BINDING", "off")
    monkeypatch.setenv("ONESTORY_HL7_MAX_MESSAGE_BYTES", "1048576")
    settings = HubSettings()
    assert settings.mllp_sender_binding == "off" and settings.hl7_max_message_bytes == 1048576
    monkeypatch.setenv("ONESTORY_MLLP_SENDER_BINDING", "warn")
    with pytest.raises(ValueError):
        HubSettings()
