"""Demo data for `onestory up --demo`: a few synthetic children admitted and discharged over MLLP.

The NHS numbers are generated with valid check digits from the 999 test range; no real person is described.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from connectors.identifiers import is_valid_nhs_number

GIVEN = ["Amara", "Noah", "Isla", "Yusuf", "Freya", "Leo", "Maya", "Kai"]
FAMILY = ["Okafor", "Smith", "Khan", "Jones", "Novak", "Evans", "Patel", "Murphy"]


def test_nhs_number(rng: random.Random) -> str:
    while True:
        candidate = "999" + "".join(str(rng.randrange(10)) for _ in range(7))
        if is_valid_nhs_number(candidate):
            return candidate


def segment(name: str, fields: dict[int, str]) -> str:
    values = [fields.get(i, "") for i in range(1, max(fields) + 1)]
    return "|".join([name, *values])


def adt(
    trigger: str,
    control_id: str,
    nhs: str,
    mrn: str,
    given: str,
    family: str,
    born: str,
    sex: str,
    when: datetime,
    patient_class: str = "E",
) -> bytes:
    ts = when.strftime("%Y%m%d%H%M%S")
    segments = [
        f"MSH|^~\\&|DEMO-PAS|RX1|ONESTORY|HUB|{ts}||ADT^{trigger}|{control_id}|P|2.4",
        f"EVN|{trigger}|{ts}",
        f"PID|1||{mrn}^^^RX1^MR~{nhs}^^^NHS^NH||{family}^{given}||{born}|{sex}|||1 Demo Street^^Nottingham^^NG1 1AA",
        segment(
            "PV1",
            {
                1: "1",
                2: patient_class,
                3: "PAEDS^BAY1^BED2",
                7: "C123^Consultant^Demo",
                19: f"V{control_id[:-1]}",
                44: ts,
            },
        ),
    ]
    return "\r".join(segments).encode()


def demo_messages(seed: int = 7, children: int = 4, now: datetime | None = None) -> list[bytes]:
    rng = random.Random(seed)
    now = now or datetime(2026, 11, 1, 9, 0)
    messages: list[bytes] = []
    for i in range(children):
        nhs = test_nhs_number(rng)
        given, family = GIVEN[i % len(GIVEN)], FAMILY[(i * 3) % len(FAMILY)]
        born = f"{2009 + i % 8}0{1 + i % 9}1{i % 9}"
        sex = "F" if i % 2 else "M"
        start = now - timedelta(days=30 - i)
        messages.append(adt("A04", f"DEMO{i}A", nhs, f"M{1000 + i}", given, family, born, sex, start))
        messages.append(
            adt("A01", f"DEMO{i}B", nhs, f"M{1000 + i}", given, family, born, sex, start + timedelta(hours=2), "I")
        )
        messages.append(
            adt("A03", f"DEMO{i}C", nhs, f"M{1000 + i}", given, family, born, sex, start + timedelta(days=2), "I")
        )
    return messages
