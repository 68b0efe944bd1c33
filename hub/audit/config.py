"""IG configuration as data: retention, review deadlines, checkpoint interval and alert thresholds.

The bundled `ig.yaml` holds the defaults; `<data dir>/ig.yaml`, where present, overrides them key by key.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

BUNDLED = Path(__file__).with_name("ig.yaml")


class AlertThresholds(BaseModel):
    timezone: str = "Europe/London"
    working_day_start: time = time(8, 0)
    working_day_end: time = time(18, 0)
    working_weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    out_of_hours_min_accesses: int = 5
    volume_max_children_per_day: int = 30
    volume_max_accesses_per_day: int = 200
    surname_postcode_match: bool = True
    no_relationship: bool = True


class IgConfig(BaseModel):
    retention_days: int = Field(2922, ge=1)
    break_glass_review_days: int = Field(3, ge=1)
    checkpoint_interval_seconds: float = Field(300, gt=0)
    alerts: AlertThresholds = Field(default_factory=AlertThresholds)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_ig_config(data_dir: Path | None = None) -> IgConfig:
    raw: dict[str, Any] = yaml.safe_load(BUNDLED.read_text(encoding="utf-8")) or {}
    local = data_dir / "ig.yaml" if data_dir else None
    if local is not None and local.exists():
        raw = _merge(raw, yaml.safe_load(local.read_text(encoding="utf-8")) or {})
    return IgConfig.model_validate(raw)
