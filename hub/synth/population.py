"""Children, families and life events of a synthetic region, deterministic by seed.

Households share a surname and an address; some have twins (same birth date, different given names), most
have siblings. Over the window some families move, and a few children are adopted (new surname and
address). These are exactly the situations that make identity resolution hard.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial

from hub.synth import identifiers
from hub.synth.names import DISTRICTS, FAMILY, GIVEN_F, GIVEN_M, INWARD_LETTERS, LA_CODES
from hub.synth.reference import Reference
from projections.identity.names import Nicknames, jaro_winkler, soundex

TWIN_RATE = 0.03  # share of households with a pair of twins
MOVE_RATE = 0.15  # share of households moving during the window
ADOPTION_RATE = 0.005  # share of children adopted during the window (surname changes)


@dataclass
class Child:
    index: int
    nhs_number: str
    upn: str
    la_code: str
    given_name: str
    middle_name: str | None
    family_name: str
    sex: str  # M | F
    birth_date: date
    household: int
    twin_of: int | None = None
    addresses: list[tuple[date, str]] = field(default_factory=list)  # (from, postcode), ascending
    adopted_on: date | None = None
    adoptive_family_name: str | None = None

    def postcode_on(self, day: date) -> str:
        current = self.addresses[0][1]
        for since, postcode in self.addresses:
            if since <= day:
                current = postcode
        return current

    def family_name_on(self, day: date) -> str:
        if self.adopted_on and self.adoptive_family_name and day >= self.adopted_on:
            return self.adoptive_family_name
        return self.family_name


@dataclass
class Population:
    seed: int
    start: date
    end: date
    children: list[Child]

    def twins(self) -> list[tuple[int, int]]:
        return [(c.twin_of, c.index) for c in self.children if c.twin_of is not None]


def postcode(rng: random.Random) -> str:
    return f"{rng.choice(DISTRICTS)} {rng.randrange(1, 10)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"


def _alike(nicknames: Nicknames, a: str, b: str) -> bool:
    """Names parents would not give two children of one household (Leo and Leon, Amelia and Mia)."""
    x, y = a.lower(), b.lower()
    return x == y or nicknames.equivalent(x, y) or soundex(x) == soundex(y) or jaro_winkler(x, y) >= 0.92


def _given(rng: random.Random, nicknames: Nicknames, sex: str, avoid: set[str]) -> str:
    names = GIVEN_F if sex == "F" else GIVEN_M
    while True:
        name = rng.choice(names)
        if not any(_alike(nicknames, name, other) for other in avoid):
            return name


def _unique(issued: set[str], draw: Callable[[], str]) -> str:
    """A national identifier not yet given to anyone: the 999 test range holds ~900,000 NHS numbers, so
    independent draws for 20,000 children would give about 220 pairs of children one number."""
    while (value := draw()) in issued:
        pass
    issued.add(value)
    return value


def generate_population(
    children: int, seed: int, years: int = 1, end: date = date(2026, 11, 1), reference: Reference | None = None
) -> Population:
    """`reference`: the bundled nicknames (names a household would not give two children), read here when the
    caller has not."""
    nicknames = (reference or Reference.bundled()).nicknames
    rng = random.Random(seed)
    start = end - timedelta(days=365 * years)
    out: list[Child] = []
    household = 0
    issued: set[str] = set()  # NHS numbers and UPNs are issued once: no two people share one
    while len(out) < children:
        household += 1
        surname = rng.choice(FAMILY)
        if rng.random() < 0.04:
            surname = f"{surname}-{rng.choice(FAMILY)}"
        home = postcode(rng)
        la_code = rng.choice(LA_CODES)
        size = rng.choices((1, 2, 3, 4), weights=(45, 35, 15, 5))[0]
        births: list[date] = []
        for _ in range(size):
            for _attempt in range(20):
                dob = end - timedelta(days=rng.randrange(365 * 4, 365 * 18))
                if all(abs((dob - b).days) > 300 for b in births):
                    break
            births.append(dob)
        twin_slot = rng.randrange(size) if rng.random() < TWIN_RATE else None
        used: set[str] = set()
        members: list[Child] = []
        moves = rng.random() < MOVE_RATE
        moved_to = postcode(rng) if moves else None
        moved_on = start + timedelta(days=rng.randrange(1, max(2, (end - start).days))) if moves else None
        for slot, dob in enumerate(births):
            for twin in (False, True) if slot == twin_slot else (False,):
                if len(out) + len(members) >= children:
                    break
                sex = rng.choice("MF")
                given = _given(rng, nicknames, sex, used)
                used.add(given)
                middle = _given(rng, nicknames, sex, used | {given}) if rng.random() < 0.4 else None
                child = Child(
                    index=len(out) + len(members),
                    nhs_number=_unique(issued, partial(identifiers.nhs_number, rng)),
                    upn=_unique(issued, partial(identifiers.upn, rng, la_code)),
                    la_code=la_code,
                    given_name=given,
                    middle_name=middle,
                    family_name=surname,
                    sex=sex,
                    birth_date=dob,
                    household=household,
                    twin_of=members[-1].index if twin else None,
                    addresses=[(date.min, home)],
                )
                if moved_to and moved_on:
                    child.addresses.append((moved_on, moved_to))
                if rng.random() < ADOPTION_RATE:
                    child.adopted_on = start + timedelta(days=rng.randrange(1, max(2, (end - start).days)))
                    child.adoptive_family_name = rng.choice(FAMILY)
                    child.addresses = [a for a in child.addresses if a[0] < child.adopted_on]
                    child.addresses.append((child.adopted_on, postcode(rng)))
                members.append(child)
        out.extend(members)
    return Population(seed=seed, start=start, end=end, children=out)
