"""Name and postcode normalisation plus the string similarity measures the comparators use.

Implemented here rather than imported so the behaviour is fixed by our tests (Soundex has variants, and
Jaro–Winkler implementations differ in their prefix scaling) and the scoring stays dependency-free and pure.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

_NON_LETTER = re.compile(r"[^a-z\- ]+")
_SOUNDEX_CODES = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}


@lru_cache(maxsize=65536)
def normalise_name(name: str | None) -> str:
    """Lower case, accents folded, punctuation dropped, hyphens and runs of spaces made single spaces."""
    if not name:
        return ""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(_NON_LETTER.sub("", folded).replace("-", " ").split())


def name_tokens(name: str | None) -> tuple[str, ...]:
    return tuple(normalise_name(name).split())


@lru_cache(maxsize=65536)
def soundex(name: str) -> str:
    """American Soundex (H and W do not separate equal codes); empty string for a name without letters."""
    letters = [c for c in normalise_name(name) if c.isalpha()]
    if not letters:
        return ""
    first = letters[0]
    out = [first.upper()]
    last = _SOUNDEX_CODES.get(first, "")
    for ch in letters[1:]:
        code = _SOUNDEX_CODES.get(ch, "")
        if code and code != last:
            out.append(code)
        if ch not in "hw":
            last = code
        if len(out) == 4:
            break
    return "".join(out).ljust(4, "0")


@lru_cache(maxsize=262144)
def jaro_winkler(a: str, b: str, prefix_scale: float = 0.1) -> float:
    """Jaro–Winkler similarity in [0, 1]; symmetric; 1.0 only for equal strings."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    window = max(len(b) // 2 - 1, 0)
    b_used = [False] * len(b)
    a_matches: list[str] = []
    for i, ch in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not b_used[j] and b[j] == ch:
                b_used[j] = True
                a_matches.append(ch)
                break
    m = len(a_matches)
    if m == 0:
        return 0.0
    b_matches = [b[j] for j in range(len(b)) if b_used[j]]
    transpositions = sum(x != y for x, y in zip(a_matches, b_matches, strict=True)) / 2
    jaro = (m / len(a) + m / len(b) + (m - transpositions) / m) / 3
    prefix = 0
    for x, y in zip(a, b, strict=False):
        if x != y or prefix == 4:
            break
        prefix += 1
    return jaro + prefix * prefix_scale * (1 - jaro)


def normalise_postcode(postcode: str | None) -> str:
    """`ls14ap`, `LS1 4AP` and ` ls1  4ap ` all become `LS1 4AP`; anything too short is returned compacted."""
    if not postcode:
        return ""
    compact = "".join(postcode.split()).upper()
    if len(compact) < 5:
        return compact
    return f"{compact[:-3]} {compact[-3:]}"


def postcode_parts(postcode: str | None) -> tuple[str, str, str]:
    """(full, sector, district): `LS1 4AP` → (`LS1 4AP`, `LS1 4`, `LS1`)."""
    full = normalise_postcode(postcode)
    if " " not in full:
        return full, "", ""
    district, inward = full.split(" ", 1)
    return full, f"{district} {inward[:1]}", district


@dataclass(frozen=True)
class Nicknames:
    """Given-name equivalence classes loaded from YAML: two names match if they share a class."""

    groups: dict[str, frozenset[int]]
    version: str

    @classmethod
    def from_yaml(cls, text: str) -> Nicknames:
        data = yaml.safe_load(text)
        groups: dict[str, set[int]] = {}
        for index, group in enumerate(data["groups"]):
            for name in group:
                groups.setdefault(normalise_name(str(name)), set()).add(index)
        return cls({k: frozenset(v) for k, v in groups.items()}, str(data.get("version", "")))

    @classmethod
    def bundled(cls) -> Nicknames:
        return cls.from_yaml(resources.files("projections.identity").joinpath("nicknames.yaml").read_text())

    def equivalent(self, a: str, b: str) -> bool:
        ga, gb = self.groups.get(a), self.groups.get(b)
        return bool(ga and gb and ga & gb)

    def canonical(self, name: str) -> str:
        """A stable representative (lowest class id's first spelling is not needed: the id itself serves)."""
        group = self.groups.get(name)
        return f"#{min(group)}" if group else name
