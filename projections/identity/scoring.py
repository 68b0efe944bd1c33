"""Fellegi–Sunter scoring: agreement levels → log2(m/u) weights → a total and a classification.

Configuration (m/u per level and the two thresholds) is versioned YAML (matching.yaml) so that a change to
who gets linked is reviewed like policy. The score alone never auto-links across a conflict: see ``rules``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import yaml

from projections.identity.compare import (
    Demographics,
    compare,
    compare_birth_date,
    compare_family,
    compare_given,
    compare_postcode,
    compare_sex,
)
from projections.identity.names import Nicknames

Band = Literal["link", "review", "distinct"]


@dataclass(frozen=True)
class MatchConfig:
    version: str
    link_threshold: float
    review_threshold: float
    weights: dict[str, dict[str, float]]
    max_block_size: int

    @classmethod
    def from_yaml(cls, text: str) -> MatchConfig:
        data = yaml.safe_load(text)
        weights: dict[str, dict[str, float]] = {}
        for field, levels in data["fields"].items():
            weights[field] = {}
            for level, mu in levels.items():
                m, u = float(mu["m"]), float(mu["u"])
                if not (0 < m <= 1 and 0 < u <= 1):
                    raise ValueError(f"{field}.{level}: m and u must be probabilities in (0, 1]")
                weights[field][level] = math.log2(m / u)
        link, review = float(data["thresholds"]["link"]), float(data["thresholds"]["review"])
        if review > link:
            raise ValueError("the review threshold must not exceed the link threshold")
        return cls(str(data["version"]), link, review, weights, int(data["blocking"]["max_block_size"]))

    @classmethod
    def bundled(cls) -> MatchConfig:
        return cls.from_yaml(resources.files("projections.identity").joinpath("matching.yaml").read_text())


@dataclass(frozen=True)
class Score:
    total: float
    levels: dict[str, str | None]
    band: Band

    def explain(self) -> dict[str, object]:
        """What a data steward sees: each field's agreement level and the total (no personal data)."""
        return {"score": round(self.total, 2), "levels": self.levels, "band": self.band}


@dataclass(frozen=True)
class Scorer:
    config: MatchConfig
    nicknames: Nicknames

    @classmethod
    def bundled(cls) -> Scorer:
        return cls(MatchConfig.bundled(), Nicknames.bundled())

    def weight(self, levels: dict[str, str | None]) -> float:
        total = 0.0
        for field, level in levels.items():
            if level is not None:
                total += self.config.weights.get(field, {}).get(level, 0.0)
        return total

    def band(self, total: float) -> Band:
        if total >= self.config.link_threshold:
            return "link"
        if total >= self.config.review_threshold:
            return "review"
        return "distinct"

    def score(self, a: Demographics, b: Demographics) -> Score:
        levels = compare(a, b, self.nicknames)
        total = self.weight(levels)
        return Score(total, levels, self.band(total))

    def _best(self, field: str) -> float:
        return max([0.0, *self.config.weights.get(field, {}).values()])

    def score_if_plausible(self, a: Demographics, b: Demographics) -> Score | None:
        """``score``, or None when even full agreement on both names could not reach the review threshold.

        Blocks on a surname and birth year hold mostly siblings and namesakes; the cheap fields (date of
        birth, postcode, sex) rule most of them out before the costly name comparisons. Same result as
        ``score`` for every pair that could be linked or reviewed.
        """
        cheap = {
            "birth_date": compare_birth_date(a.birth_date, b.birth_date),
            "postcode": compare_postcode(a.postcode, b.postcode),
            "sex": compare_sex(a.sex, b.sex),
        }
        if self.weight(cheap) + self._best("given_name") + self._best("family_name") < self.config.review_threshold:
            return None
        levels = {
            "given_name": compare_given(a.given_name, b.given_name, self.nicknames),
            "family_name": compare_family(a.family_name, b.family_name),
            **cheap,
        }
        total = self.weight(levels)
        return Score(total, levels, self.band(total))

    def _best_level(self, field: str, levels: Iterable[str | None]) -> str | None:
        """The strongest agreement among a child's values; None only when the child has no value at all."""
        weights = self.config.weights[field]
        best: str | None = None
        for level in levels:
            if level is not None and (best is None or weights.get(level, 0.0) > weights.get(best, 0.0)):
                best = level
        return best

    def score_child(self, a: Demographics, records: Sequence[Demographics]) -> Score | None:
        """A record against everything known about one child: per field, the best agreement with any of the
        child's records (its names, dates of birth, sexes and address history), then weighted as usual.

        A child seen first through a record with a typo, a nickname or a since-moved address is still found
        through its other records. Twins stay apart: the possible-twin rule reads these levels, so a twin
        matches only if one of the child's records agrees on the given name. None, as ``score_if_plausible``,
        when not even full agreement on the names could reach the review threshold.
        """
        if len(records) <= 1:
            return self.score_if_plausible(a, records[0]) if records else None
        cheap = {
            "birth_date": self._best_level(
                "birth_date", {compare_birth_date(a.birth_date, b.birth_date) for b in records}
            ),
            "postcode": self._best_level("postcode", {compare_postcode(a.postcode, b.postcode) for b in records}),
            "sex": self._best_level("sex", {compare_sex(a.sex, b.sex) for b in records}),
        }
        if self.weight(cheap) + self._best("given_name") + self._best("family_name") < self.config.review_threshold:
            return None
        levels = {
            "given_name": self._best_level(
                "given_name", {compare_given(a.given_name, g, self.nicknames) for g in {b.given_name for b in records}}
            ),
            "family_name": self._best_level(
                "family_name", {compare_family(a.family_name, f) for f in {b.family_name for b in records}}
            ),
            **cheap,
        }
        total = self.weight(levels)
        return Score(total, levels, self.band(total))
