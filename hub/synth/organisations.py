"""The synthetic region's organisations: the code each one sends under, its name and its type.

records.py names organisations by kind and number (``GP012``, ``SCHOOL207``); senders identify themselves
with the codes real feeds use (ODS-style codes for NHS bodies, a six-digit URN for schools, the DfE LA code
for councils), so the source files carry those. Codes start with a 9 where the real scheme has a digit, so a
synthetic code is never mistaken for a real school or practice. Pure and total: every record organisation
has exactly one code.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.synth.names import LA_CODES

# records.py kind -> organisation type as the consent engine and the self-referral page name them
ORGANISATION_TYPES = {
    "gp": "gp-practice",
    "school": "school",
    "camhs": "camhs",
    "acute": "acute-trust",
    "council": "local-authority",
    "vcse": "vcse",
}
_LA_NAMES = {"383": "Leeds", "380": "Bradford", "384": "Wakefield", "381": "Kirklees", "382": "Calderdale"}


@dataclass(frozen=True)
class Organisation:
    record_org: str  # as records.py names it, e.g. GP012
    kind: str  # gp | school | camhs | acute | council | vcse
    code: str  # what the sender puts in MSH-4, its token and its files
    name: str
    type: str

    def as_json(self) -> dict[str, str]:
        return {
            "record_org": self.record_org,
            "kind": self.kind,
            "code": self.code,
            "name": self.name,
            "type": self.type,
        }


def organisation(record_org: str) -> Organisation:
    """The sending organisation behind a records.py organisation name."""
    kind = record_org.rstrip("0123456789").lower()
    n = int(record_org[len(kind) :])
    if kind == "gp":
        code, name = f"B9{n + 1:04d}", f"Synthetic Medical Practice {n + 1}"
    elif kind == "school":
        code, name = f"9{n + 1:05d}", f"Synthetic Academy {n + 1}"
    elif kind == "camhs":
        code, name = f"R9M{n + 1}", f"Synthetic CAMHS Team {n + 1}"
    elif kind == "acute":
        code, name = f"R9{'ABCDEFGH'[n]}", f"Synthetic Hospitals NHS Trust {'ABCDEFGH'[n]}"
    elif kind == "council":
        code = LA_CODES[n % len(LA_CODES)]
        name = f"{_LA_NAMES.get(code, 'Synthetic')} Council (synthetic)"
    elif kind == "vcse":
        code, name = f"V9{n + 1:03d}", f"Synthetic Youth Project {n + 1}"
    else:
        raise ValueError(f"unknown organisation kind in {record_org!r}")
    return Organisation(record_org, kind, code, name, ORGANISATION_TYPES[kind])
