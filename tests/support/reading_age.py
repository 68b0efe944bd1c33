"""Flesch–Kincaid grade of plain English text: a small pure function for checking pages people read.

Syllables are counted by vowel groups (a silent final "e" dropped, at least one a word), the usual heuristic;
good enough to tell a page a 12-year-old can follow (grade 7 or below) from one they cannot.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_SENTENCE_END = re.compile(r"[.!?:]+(?:\s|$)|\n")


def syllables(word: str) -> int:
    w = word.lower().replace("'", "")
    groups = re.findall(r"[aeiouy]+", w)
    n = len(groups)
    if w.endswith("e") and not w.endswith(("le", "ee", "ye")) and n > 1:
        n -= 1
    return max(n, 1)


def grade(text: str) -> float:
    """0.39 × words per sentence + 11.8 × syllables per word − 15.59."""
    words = _WORD.findall(text)
    if not words:
        return 0.0
    sentences = max(1, len([s for s in _SENTENCE_END.split(text) if _WORD.search(s)]))
    return 0.39 * len(words) / sentences + 11.8 * sum(syllables(w) for w in words) / len(words) - 15.59
