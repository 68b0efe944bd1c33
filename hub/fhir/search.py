"""Which parameters each FHIR endpoint takes, read from search.yaml; requests checked against it. Pure.

FHIR lets a server refuse what it does not support or ignore it; a server that silently ignores a filter
answers a narrower question with everything (`Observation?patient=…&code=x` returning every Observation), so
this one refuses: an unknown or unsupported parameter is a 400 OperationOutcome, unless the client asked for
`Prefer: handling=lenient`, when it is ignored and the client can see from the `self` link what was used.
The CapabilityStatement is built from the same table, so it lists exactly what is accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

SEARCH_TYPES = (
    "Encounter",
    "EpisodeOfCare",
    "ServiceRequest",
    "CarePlan",
    "Condition",
    "Flag",
    "Observation",
    "Communication",
    "CareTeam",
    "DocumentReference",
    "Appointment",
)
"""The types searched by patient (`GET /fhir/<Type>?patient=<id>`)."""
FORMAT = "_format"  # taken everywhere; its value is judged by hub.fhir.formats
INCLUDE = "_include"
SUMMARY = "_summary"


class SearchError(ValueError):
    """The request's parameters are not ones this endpoint supports (answered 400)."""


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    documentation: str

    def as_capability(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type, "documentation": self.documentation}


@dataclass(frozen=True)
class Endpoint:
    """One endpoint's parameters (`_format` aside) and the `_include` values it serves."""

    name: str
    params: dict[str, Param]
    includes: tuple[str, ...] = ()

    def accepts(self, name: str) -> bool:
        return name == FORMAT or name in self.params or (name == INCLUDE and bool(self.includes))


@dataclass(frozen=True)
class Search:
    """A request's parameters as checked: each given once, `_include` and `_summary` taken apart."""

    values: dict[str, str]
    include: tuple[str, ...] = ()
    summary_count: bool = False
    ignored: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Catalogue:
    resources: dict[str, dict[str, Any]]
    result: dict[str, Param]
    by_patient: tuple[str, ...]

    @classmethod
    def from_yaml(cls, text: str) -> Catalogue:
        data = yaml.safe_load(text)
        result = {n: Param(n, p["type"], p["documentation"]) for n, p in data["result_parameters"].items()}
        return cls(dict(data["resources"]), result, SEARCH_TYPES)

    def endpoint(self, name: str) -> Endpoint:
        """`Patient` (search), `Patient/{id}`, `Patient/$everything`, `metadata`, or a type searched by patient."""
        if name in ("Patient/{id}", "metadata"):
            return Endpoint(name, {})
        if name == "Patient/$everything":
            everything = self.resources["Patient"]["operations"]["everything"]
            return Endpoint(name, {n: self.result[n] for n in everything["parameters"]})
        if name == "Patient":
            spec = self.resources["Patient"]
            own = {n: Param(n, p["type"], p["documentation"]) for n, p in spec["search"].items()}
            return Endpoint(name, own | {n: self.result[n] for n in spec["result"]})
        if name in self.by_patient:
            patient = Param("patient", "reference", "the child: Patient/<id> or <id> (required)")
            result = {n: self.result[n] for n in ("_count", "_cursor", SUMMARY)}
            return Endpoint(name, {"patient": patient} | result, (f"{name}:patient",))
        raise KeyError(name)

    def check(self, endpoint: str, items: Iterable[tuple[str, str]], lenient: bool = False) -> Search:
        """The request's parameters for `endpoint`, or SearchError saying which one is not supported."""
        spec = self.endpoint(endpoint)
        values: dict[str, str] = {}
        ignored: list[str] = []
        for name, value in items:
            if not spec.accepts(name):
                if lenient:
                    ignored.append(name)
                    continue
                supported = ", ".join(sorted({*spec.params, FORMAT} | ({INCLUDE} if spec.includes else set())))
                raise SearchError(f"parameter '{name}' is not supported here (supported: {supported})")
            if name in values:
                raise SearchError(f"parameter '{name}' given more than once: repeats are not supported")
            values[name] = value
        include = values.pop(INCLUDE, None)
        if include is not None and include not in spec.includes:
            raise SearchError(f"_include={include} is not supported here (supported: {', '.join(spec.includes)})")
        summary = values.pop(SUMMARY, None)
        if summary not in (None, "count", "false"):
            raise SearchError("_summary supports count and false only")
        values.pop(FORMAT, None)
        return Search(values, (include,) if include else (), summary == "count", tuple(ignored))

    def capability_resources(self) -> list[dict[str, Any]]:
        """CapabilityStatement.rest.resource: exactly the interactions and parameters served."""
        out: list[dict[str, Any]] = []
        for name, spec in self.resources.items():
            entry: dict[str, Any] = {"type": name, "interaction": [{"code": i} for i in spec["interactions"]]}
            if "search-type" in spec["interactions"]:
                entry["searchParam"] = [p.as_capability() for p in self.endpoint(name).params.values()]
            for op_name, op in (spec.get("operations") or {}).items():
                entry.setdefault("operation", []).append({"name": op_name, "definition": op["definition"]})
            out.append(entry)
        for name in self.by_patient:
            endpoint = self.endpoint(name)
            out.append(
                {
                    "type": name,
                    "interaction": [{"code": "search-type"}],
                    "searchInclude": list(endpoint.includes),
                    "searchParam": [p.as_capability() for p in endpoint.params.values()],
                }
            )
        return out


@cache
def catalogue() -> Catalogue:
    return Catalogue.from_yaml(resources.files("hub.fhir").joinpath("search.yaml").read_text(encoding="utf-8"))
