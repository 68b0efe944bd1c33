"""The standard ``OTEL_*`` variables, read through pydantic-settings like every other setting.

The issue asks for the OpenTelemetry variables rather than ``ONESTORY_*`` ones, so that any collector
set-up an operator already has works unchanged. Only the variables OneStory itself acts on are listed;
the OTLP exporters read the rest (headers, certificates, timeouts) from the environment themselves.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

NONE = "none"


class TelemetrySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OTEL_", extra="ignore")

    service_name: str | None = Field(None, description="overrides the deployable's own name (onestory-api, ...)")
    traces_exporter: str | None = Field(None, description="none | console | otlp (comma-separated)")
    metrics_exporter: str | None = Field(None, description="none | console | otlp (comma-separated)")
    exporter_otlp_endpoint: str | None = Field(None, description="collector base URL, e.g. http://otel:4318")
    metric_export_interval: int = Field(60000, description="milliseconds between metric exports")

    def exporters(self, signal: str) -> list[str]:
        """Exporters for ``traces`` or ``metrics``: explicit list, else OTLP when an endpoint is set, else none."""
        chosen = self.traces_exporter if signal == "traces" else self.metrics_exporter
        if chosen is None:
            return ["otlp"] if self.exporter_otlp_endpoint else []
        names = [n.strip().lower() for n in chosen.split(",") if n.strip()]
        return [n for n in names if n != NONE]
