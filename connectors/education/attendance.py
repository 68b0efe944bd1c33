"""DfE attendance codes → one week's summary (rate and persistent-absence flag). Pure.

Only the summary leaves the school: the hub never holds every register mark. Codes follow the DfE school
attendance guidance (2024): present, approved educational activity, authorised and unauthorised absence, and
codes that are not possible sessions at all (not counted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PRESENT = frozenset({"/", "\\", "L"})
APPROVED_ACTIVITY = frozenset({"K", "V", "P", "W", "B"})
AUTHORISED = frozenset({"C", "C1", "C2", "M", "T", "R", "I", "J1", "S", "E", "H", "Q"})
UNAUTHORISED = frozenset({"G", "U", "O", "N"})
NOT_COUNTED = frozenset({"X", "Y", "Z", "#", "D", "-", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7"})
KNOWN = PRESENT | APPROVED_ACTIVITY | AUTHORISED | UNAUTHORISED | NOT_COUNTED
PERSISTENT_ABSENCE_BELOW = 0.90


class UnknownCode(ValueError):
    def __init__(self, code: str, session: int) -> None:
        super().__init__(f"unknown attendance code {code!r} at session {session}")


@dataclass(frozen=True)
class WeekSummary:
    possible: int
    present: int
    approved_activity: int
    authorised: int
    unauthorised: int
    late: int

    @property
    def rate(self) -> float:
        return (self.present + self.approved_activity) / self.possible if self.possible else 1.0

    @property
    def persistent_absence(self) -> bool:
        return self.possible > 0 and self.rate < PERSISTENT_ABSENCE_BELOW


def split_marks(marks: str) -> list[str]:
    """Separated ("/ \\ N C1") or compact single-character marks ("/\\/\\N")."""
    if re.search(r"[\s,;|]", marks.strip()):
        return [m for m in re.split(r"[\s,;|]+", marks.strip()) if m]
    return list(marks.strip())


def summarise(marks: list[str]) -> WeekSummary:
    counts = {"present": 0, "approved": 0, "authorised": 0, "unauthorised": 0, "late": 0}
    for session, raw in enumerate(marks, start=1):
        code = raw.upper() if raw not in ("/", "\\") else raw
        if code not in KNOWN:
            raise UnknownCode(raw, session)
        if code in PRESENT:
            counts["present"] += 1
            counts["late"] += code == "L"
        elif code in APPROVED_ACTIVITY:
            counts["approved"] += 1
        elif code in AUTHORISED:
            counts["authorised"] += 1
        elif code in UNAUTHORISED:
            counts["unauthorised"] += 1
            counts["late"] += code == "U"
    possible = counts["present"] + counts["approved"] + counts["authorised"] + counts["unauthorised"]
    return WeekSummary(
        possible, counts["present"], counts["approved"], counts["authorised"], counts["unauthorised"], counts["late"]
    )
