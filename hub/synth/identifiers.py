"""Valid synthetic national identifiers: NHS numbers in the 999 test range and UPNs with their check letter."""

from __future__ import annotations

import random
from collections.abc import Iterator

from connectors.identifiers import is_valid_nhs_number

_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def check_digit(body: str) -> int:
    """The modulus 11 check digit of a 9-digit NHS number body; 10 means no valid number has this body."""
    total = sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True))
    return (11 - total % 11) % 11


def nhs_number(rng: random.Random) -> str:
    """999 + 6 random digits + the modulus 11 check digit (numbers whose check would be 10 are skipped)."""
    while True:
        body = "999" + "".join(str(rng.randrange(10)) for _ in range(6))
        check = check_digit(body)
        if check != 10:
            return body + str(check)


def test_range_nhs_numbers() -> Iterator[str]:
    """Every valid NHS number in the 999 test range, in order: distinct children for a load generator."""
    for n in range(1_000_000):
        body = f"999{n:06d}"
        check = check_digit(body)
        if check != 10:
            yield body + str(check)


def upn(rng: random.Random, la_code: str) -> str:
    """Permanent UPN: check letter + 3-digit LA code + 4-digit school establishment + year + serial."""
    body = la_code + "".join(str(rng.randrange(10)) for _ in range(12 - len(la_code)))
    total = sum(int(ch) * w for ch, w in zip(body, range(2, 14), strict=True))
    return _UPN_LETTERS[total % 23] + body


def mistyped_nhs_number(rng: random.Random, number: str) -> str:
    """One digit keyed wrongly, always failing the check (a wrong-but-valid number is a different problem)."""
    while True:
        pos = rng.randrange(10)
        wrong = number[:pos] + str((int(number[pos]) + rng.randrange(1, 10)) % 10) + number[pos + 1 :]
        if not is_valid_nhs_number(wrong):
            return wrong
