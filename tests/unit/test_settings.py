"""One settings object per deployable: `HubSettings`, built in a command's entry point, with its two sections.

Operators keep the prefixes they know (ONESTORY_OUTBOUND_* for feed delivery, the standard OTEL_*), and no code
below hub/commands builds settings of its own (a library that reads the environment behind its caller's back
cannot be configured by that caller, nor tested without touching the process environment).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub.settings import HubSettings

ROOT = Path(__file__).resolve().parents[2]
BUILT = re.compile(r"(?<!class )\b(HubSettings|OutboundSettings|TelemetrySettings)\(")


def test_one_object_carries_the_outbound_and_telemetry_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONESTORY_API_PORT", "9090")
    monkeypatch.setenv("ONESTORY_OUTBOUND_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    settings = HubSettings()
    assert settings.api_port == 9090
    assert settings.outbound.max_attempts == 3
    assert settings.telemetry.exporters("traces") == ["console"]
    assert settings.outbound.subscribers_file is None  # None: the bundled subscribers


def _entry_point(path: Path) -> bool:
    """A command, or a script run as `python -m` (its `main()` is its entry point)."""
    text = path.read_text(encoding="utf-8")
    return str(path.relative_to(ROOT)).startswith("hub/commands/") or 'if __name__ == "__main__":' in text


def test_only_entry_points_build_settings() -> None:
    builders = sorted(
        path
        for package in ("hub", "connectors", "projections", "consent_engine")
        for path in (ROOT / package).rglob("*.py")
        if BUILT.search(path.read_text(encoding="utf-8"))
    )
    assert builders, "the commands build settings"
    assert [str(p.relative_to(ROOT)) for p in builders if not _entry_point(p)] == []
