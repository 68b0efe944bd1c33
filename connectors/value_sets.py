"""Codes → sensitivity labels and sealed categories, for every connector. Pure; the data is read once, lazily.

Labels for clinical codes come from the policy's `labelling:` rules (consent_engine.labels_for on the bundled
default policy, or the policy the caller passes): a label changes decisions, so it lives in the versioned,
hashed policy. Which code sets seal an entry (sexual health, gender identity, pregnancy, substance use) and how
source markers that are not clinical codes (v3 confidentiality, HL7 v2 PV1-16, PV1-10, PV1-3) translate are in
value_sets.yaml beside this module. Nothing is read at import time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from consent_engine import Policy, labels_for, parse_policy

Coding = tuple[str, str]
"""(system, code): a FHIR coding's system URI, or an HL7 v2 CWE coding-system name / table URI."""

ICD10 = "http://hl7.org/fhir/sid/icd-10"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
VIP_INDICATOR = "http://terminology.hl7.org/CodeSystem/v2-0099"
HOSPITAL_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0069"
POINT_OF_CARE = "http://terminology.hl7.org/CodeSystem/v2-0302"


@dataclass(frozen=True)
class Classification:
    """What a record's codes say about it: sorted distinct labels, and the sealed (or label) category if any."""

    labels: tuple[str, ...] = ()
    category: str | None = None

    def category_or(self, default: str) -> str:
        return self.category or default


@dataclass(frozen=True)
class _CodeSet:
    id: str
    category: str
    system: str
    codes: frozenset[str]
    prefixes: tuple[str, ...]
    ranges: tuple[tuple[str, str], ...]

    def holds(self, system: str, code: str) -> bool:
        if system != self.system:
            return False
        if code in self.codes:
            return True
        bare = code.replace(".", "").upper()
        if self.prefixes and bare.startswith(self.prefixes):
            return True
        head = bare[:3]
        return len(head) == 3 and any(lo <= head <= hi for lo, hi in self.ranges)


@dataclass(frozen=True)
class Measure:
    """An outcome measure of value_sets.yaml `outcome_measures`: what makes a result one, and its direction."""

    id: str
    name: str
    codes: frozenset[tuple[str, str]]
    local_codes: tuple[str, ...]
    higher_is_better: bool | None
    labels: tuple[str, ...]

    def holds(self, system: str, code: str) -> bool:
        if (system, code) in self.codes:
            return True
        upper = code.strip().upper()
        tail = upper.rstrip("/").rsplit("/", 1)[-1]  # a Questionnaire canonical URL's last segment
        return any(
            candidate == token or candidate.startswith(tuple(token + sep for sep in "-_. "))
            for token in self.local_codes
            for candidate in {upper, tail}
        )


@dataclass(frozen=True)
class ValueSets:
    aliases: dict[str, str]
    sealed: tuple[_CodeSet, ...]
    label_categories: dict[str, str]
    markers: dict[str, dict[str, dict[str, Any]]]
    measures: tuple[Measure, ...] = ()

    @classmethod
    def from_yaml(cls, text: str) -> ValueSets:
        data = yaml.safe_load(text)
        sets = tuple(
            _CodeSet(
                id=str(s["id"]),
                category=str(s["category"]),
                system=str(s["system"]),
                codes=frozenset(str(c) for c in s.get("codes") or ()),
                prefixes=tuple(str(p).replace(".", "").upper() for p in s.get("prefixes") or ()),
                ranges=tuple((str(lo).upper(), str(hi).upper()) for lo, hi in s.get("ranges") or ()),
            )
            for s in data["sealed"]
        )
        markers = {
            str(system): {str(code): dict(v) for code, v in table.items()} for system, table in data["markers"].items()
        }
        aliases = {str(k): str(v) for k, v in data["system_aliases"].items()}
        measures = tuple(
            Measure(
                id=str(m["id"]),
                name=str(m["name"]),
                codes=frozenset((aliases.get(str(sy), str(sy)), str(c)) for sy, c in m.get("codes") or ()),
                local_codes=tuple(str(t).upper() for t in m.get("local_codes") or ()),
                higher_is_better=m.get("higher_is_better"),
                labels=tuple(str(x) for x in m.get("labels") or ()),
            )
            for m in data.get("outcome_measures") or ()
        )
        return cls(
            aliases=aliases,
            sealed=sets,
            label_categories={str(k): str(v) for k, v in data["label_categories"].items()},
            markers=markers,
            measures=measures,
        )

    def measure(self, codings: Iterable[Coding]) -> Measure | None:
        """The first outcome measure any of these codes belongs to (codes in order), or None."""
        for raw_system, raw_code in codings:
            if not raw_code:
                continue
            system, code = self.canonical(str(raw_system or "")), str(raw_code).strip()
            hit = next((m for m in self.measures if m.holds(system, code)), None)
            if hit is not None:
                return hit
        return None

    def canonical(self, system: str) -> str:
        return self.aliases.get(system, self.aliases.get(system.upper(), system))

    def classify(self, codings: Iterable[Coding], policy: Policy, labels: Iterable[str] = ()) -> Classification:
        found = {x for x in labels if x and x != "N"}
        clinical: list[Coding] = []
        category: str | None = None
        for raw_system, raw_code in codings:
            if not raw_code:
                continue
            system, code = self.canonical(str(raw_system or "")), str(raw_code).strip()
            marker = self.markers.get(system, {}).get(code) or self.markers.get(system, {}).get(code.upper())
            if marker:
                found.update(marker.get("labels") or ())
                category = category or marker.get("category")
                continue
            clinical += [(system, code), (system, code.replace(".", "").upper())]
            hit = next((s for s in self.sealed if s.holds(system, code)), None)
            if hit is not None and category is None:
                category = hit.category
        found.update(labels_for(policy, clinical))
        if category is None:
            category = next((c for x, c in self.label_categories.items() if x in found), None)
        return Classification(tuple(sorted(found)), category)


@cache
def bundled() -> ValueSets:
    return ValueSets.from_yaml(resources.files("connectors").joinpath("value_sets.yaml").read_text(encoding="utf-8"))


@cache
def default_policy() -> Policy:
    text = resources.files("consent_engine.policies").joinpath("default.yaml").read_text(encoding="utf-8")
    return parse_policy(text, "consent_engine/policies/default.yaml")


def outcome_measure(codings: Iterable[Coding]) -> Measure | None:
    """The outcome measure (SDQ, RCADS, ORS, CORS...) these codes name, from value_sets.yaml; None if none."""
    return bundled().measure(codings)


def classify(codings: Iterable[Coding], labels: Iterable[str] = (), policy: Policy | None = None) -> Classification:
    """Labels and category for a record's codes (plus labels the source already stated, e.g. meta.security).

    The category is the first sealed code set a code belongs to, else a source marker's category, else the
    category of a label (PSY → mental-health); None when nothing says anything, so the caller keeps its own.
    """
    return bundled().classify(codings, policy or default_policy(), labels)
