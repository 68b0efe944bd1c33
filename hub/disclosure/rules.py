"""The projection rules (rules.yaml) as typed, read-once data, and the helpers every fold shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, TypeVar, cast

import yaml

T = TypeVar("T")


@dataclass(frozen=True)
class Rules:
    raw: dict[str, Any]
    # The folds ask for the same sets on every event; the rules never change once read, so each is built once.
    _built: dict[tuple[str, str, str], Any] = field(default_factory=dict, compare=False, repr=False)

    def kinds(self, section: str, key: str) -> frozenset[str]:
        built = self._built.get(("kinds", section, key))
        if built is None:
            built = self._built[("kinds", section, key)] = frozenset(self.raw[section][key])
        return built

    def fields(self, section: str, key: str) -> tuple[str, ...]:
        built = self._built.get(("fields", section, key))
        if built is None:
            built = self._built[("fields", section, key)] = tuple(self.raw[section][key])
        return built

    def value(self, section: str, key: str) -> Any:
        return self.raw[section][key]

    def plan(self, fold: str, build: Callable[[Rules], T]) -> T:
        """What `fold` reads of these rules, built once per Rules object and kept on it (not in a module-level
        cache keyed by id(), which a new Rules object at the same address would read stale)."""
        key = ("plan", fold, "")
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = build(self)
        return cast(T, built)


@cache
def bundled_rules() -> Rules:
    return Rules(yaml.safe_load(resources.files("hub.disclosure").joinpath("rules.yaml").read_text()))


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
