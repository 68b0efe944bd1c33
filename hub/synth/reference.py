"""The bundled data files a synthetic region draws on, read once by whoever builds the region and passed down.

The nickname classes (projections/identity/nicknames.yaml) make the names a household would not give two
children, and the other names a record or a self-referral form uses; the organisation directory
(consent_engine/policies/organisations.yaml) gives each sending organisation its code. `onestory synth`, the demo
region and the benchmarks call `Reference.bundled()`; nothing in hub/synth reads a file at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from consent_engine.directory import Directory
from hub.directory_file import DEFAULT_DIRECTORY, default_directory_text
from projections.identity.names import Nicknames


def nickname_groups(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """name -> the other names of its classes, from the nicknames YAML as parsed."""
    groups: dict[str, list[str]] = {}
    for group in data["groups"]:
        for name in group:
            groups.setdefault(name, []).extend(n for n in group if n != name)
    return groups


@dataclass(frozen=True)
class Reference:
    nicknames: Nicknames  # equivalence: names parents would not give two children
    nickname_groups: Mapping[str, list[str]]  # name -> the names it may be given as instead
    directory: Directory

    @classmethod
    def bundled(cls) -> Reference:
        text = resources.files("projections.identity").joinpath("nicknames.yaml").read_text()
        return cls(
            nicknames=Nicknames.from_yaml(text),
            nickname_groups=nickname_groups(yaml.safe_load(text)),
            directory=Directory.parse(default_directory_text(), DEFAULT_DIRECTORY),
        )
