"""Validation of the national identifiers a child can be linked on.

An identifier that fails its check is still carried on the event (as given) but marked unvalidated, and
identity resolution never links on it.
"""

from __future__ import annotations

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
UPN_SYSTEM = "https://www.gov.uk/government/publications/unique-pupil-numbers"

_UPN_CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def normalise_nhs_number(text: str) -> str:
    """NHS numbers are often written `943 476 5870` or with dashes; the canonical form is ten digits."""
    return "".join(ch for ch in text if not ch.isspace() and ch != "-")


def is_valid_nhs_number(text: str) -> bool:
    """Modulus 11 with weights 10..2; a remainder giving 10 means the number can never be valid."""
    digits = normalise_nhs_number(text)
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def is_valid_upn(text: str) -> bool:
    """DfE check letter: characters 2-13 weighted 2..13, mod 23, mapped to a letter without I, O or S."""
    upn = text.strip().upper()
    if len(upn) != 13 or upn[0] not in _UPN_CHECK_LETTERS or not upn[1:12].isdigit():
        return False
    last = upn[12]
    if last.isdigit():
        last_value = int(last)
    elif last in _UPN_CHECK_LETTERS:  # temporary UPNs end in a letter
        last_value = _UPN_CHECK_LETTERS.index(last)
    else:
        return False
    total = sum(int(ch) * w for ch, w in zip(upn[1:12], range(2, 13), strict=True)) + last_value * 13
    return _UPN_CHECK_LETTERS[total % 23] == upn[0]
