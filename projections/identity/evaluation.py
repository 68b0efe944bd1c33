"""Pairwise linkage quality against ground truth: precision, recall and the confusion matrix.

A pair of records counts as linked when the registry put both under one child. Counting over pairs (not
records) is the standard for record linkage: one wrong merge of two children with four records each costs
sixteen false pairs, which is how bad it is for the people involved.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


@dataclass(frozen=True)
class Confusion:
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int

    @property
    def precision(self) -> float:
        linked = self.true_positive + self.false_positive
        return self.true_positive / linked if linked else 1.0

    @property
    def recall(self) -> float:
        same = self.true_positive + self.false_negative
        return self.true_positive / same if same else 1.0

    def as_json(self) -> dict[str, int | float]:
        return {
            "true_positive": self.true_positive,
            "false_positive": self.false_positive,
            "false_negative": self.false_negative,
            "true_negative": self.true_negative,
            "precision": round(self.precision, 6),
            "recall": round(self.recall, 6),
        }


def confusion(truth: Mapping[str, int], predicted: Mapping[str, str]) -> Confusion:
    """truth: record → true person; predicted: record → resolved child id (same keys)."""
    both = Counter((truth[r], predicted[r]) for r in truth)
    tp = sum(_pairs(n) for n in both.values())
    linked = sum(_pairs(n) for n in Counter(predicted[r] for r in truth).values())
    same = sum(_pairs(n) for n in Counter(truth.values()).values())
    total = _pairs(len(truth))
    return Confusion(tp, linked - tp, same - tp, total - linked - same + tp)


def linked_pairs_between(
    groups: Iterable[tuple[int, int]], truth: Mapping[str, int], predicted: Mapping[str, str]
) -> int:
    """How many of the given person pairs (e.g. twins) ended up sharing a child id."""
    children_of: dict[int, set[str]] = {}
    for record, person in truth.items():
        children_of.setdefault(person, set()).add(predicted[record])
    return sum(bool(children_of.get(a, set()) & children_of.get(b, set())) for a, b in groups)
