"""The projection rules (rules.yaml) as typed, read-once data, and the helpers every fold shares."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class Rules:
    raw: dict[str, Any]

    def kinds(self, section: str, key: str) -> frozenset[str]:
        return frozenset(self.raw[section][key])

    def fields(self, section: str, key: str) -> tuple[str, ...]:
        return tuple(self.raw[section][key])

    def value(self, section: str, key: str) -> Any:
        return self.raw[section][key]


@cache
def bundled_rules() -> Rules:
    return Rules(yaml.safe_load(resources.files("projections").joinpath("rules.yaml").read_text()))


def first_field(payload: dict[str, Any], names: tuple[str, ...]) -> Any:
    """The first non-empty payload field among names: payloads from different agencies name things differently."""
    for name in names:
        value = payload.get(name)
        if value not in (None, "", [], {}):
            return value
    return None


def payload_of(event: dict[str, Any]) -> dict[str, Any]:
    payload = event.get("payload")
    if isinstance(payload, tuple | list) and len(payload) == 2 and isinstance(payload[1], dict):
        return payload[1]
    return payload if isinstance(payload, dict) else {}
