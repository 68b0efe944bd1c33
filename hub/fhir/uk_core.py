"""UK Core: the profiles the hub claims and the code maps UK systems expect, read once from uk_core.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"


@dataclass(frozen=True)
class UkCore:
    profiles: dict[str, str]
    encounter_class: dict[str, str]  # keys case-folded
    encounter_status: dict[str, str]

    @classmethod
    def from_yaml(cls, text: str) -> UkCore:
        data = yaml.safe_load(text)
        return cls(
            profiles={str(k): str(v) for k, v in data["profiles"].items()},
            encounter_class={str(k).casefold(): str(v) for k, v in data["encounter_class"].items()},
            encounter_status={str(k): str(v) for k, v in data["encounter_status"].items()},
        )

    def profile(self, resource_type: str) -> str | None:
        return self.profiles.get(resource_type)

    def encounter_class_coding(self, source_class: object) -> dict[str, str]:
        """v3 ActCode for a PV1-2 / FHIR / word patient class; NullFlavor UNK when it is missing or unknown."""
        code = self.encounter_class.get(str(source_class or "").strip().casefold())
        if code is None:
            return {"system": NULL_FLAVOR, "code": "UNK", "display": "unknown"}
        return {"system": ACT_CODE, "code": code}


@cache
def uk_core() -> UkCore:
    return UkCore.from_yaml(resources.files("hub.fhir").joinpath("uk_core.yaml").read_text(encoding="utf-8"))
