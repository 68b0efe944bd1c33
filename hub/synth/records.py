"""Source records: what each agency holds about a synthetic child, with the errors real records carry.

Each source has its own identifiers and error profile: GPs and hospitals know the NHS number (sometimes
mistyped, sometimes missing), schools know the UPN, councils know some of both, voluntary organisations
only their own client id and what the young person told them (nicknames, no date of birth). Hospitals
occasionally register a child twice (which an ADT^A40 merge later fixes). ``child_index`` is the truth.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from connectors.identifiers import NHS_NUMBER_SYSTEM, UPN_SYSTEM
from hub.events.model import Identifier, Subject
from hub.synth import identifiers
from hub.synth.population import Child, Population
from hub.synth.reference import Reference


@dataclass(frozen=True)
class Profile:
    """Per-source chances of each error (and of carrying each identifier)."""

    kind: str
    share: float  # chance that a child has a record at this kind of source
    nhs: float = 0.0
    upn: float = 0.0
    nhs_typo: float = 0.0
    given_typo: float = 0.01
    nickname: float = 0.02
    family_typo: float = 0.01
    dob_transposed: float = 0.005
    dob_typo: float = 0.005
    dob_missing: float = 0.0
    postcode_missing: float = 0.03
    stale_postcode: float = 0.2  # after a move, chance the source still has the old address
    sex_missing: float = 0.01
    duplicate: float = 0.0  # chance of a second, separate registration at the same source
    middle_as_given: float = 0.0


PROFILES = (
    Profile("gp", 0.97, nhs=1.0, nhs_typo=0.003, given_typo=0.005, nickname=0.005),
    Profile("school", 0.95, upn=0.99, given_typo=0.01, nickname=0.04, stale_postcode=0.3),
    Profile("camhs", 0.25, nhs=0.97, nhs_typo=0.01, nickname=0.03, dob_transposed=0.005),
    Profile(
        "acute",
        0.2,
        nhs=0.85,
        nhs_typo=0.015,
        given_typo=0.02,
        family_typo=0.015,
        dob_transposed=0.01,
        dob_typo=0.01,
        duplicate=0.03,
    ),
    Profile("council", 0.2, nhs=0.5, upn=0.6, nickname=0.03, family_typo=0.01, stale_postcode=0.4),
    Profile(
        "vcse",
        0.15,
        given_typo=0.02,
        nickname=0.35,
        family_typo=0.02,
        dob_transposed=0.01,
        dob_typo=0.02,
        dob_missing=0.2,
        postcode_missing=0.1,
        sex_missing=0.1,
        stale_postcode=0.5,
        middle_as_given=0.05,
    ),
)
ORGS_PER_KIND = {"gp": 120, "school": 300, "camhs": 3, "acute": 4, "council": 5, "vcse": 25}
_KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"


@dataclass(frozen=True)
class SourceRecord:
    record_id: str
    child_index: int  # ground truth
    kind: str
    organisation: str
    recorded_on: date
    identifiers: tuple[tuple[str, str], ...]
    given_name: str | None
    family_name: str | None
    birth_date: date | None
    sex: str | None
    postcode: str | None
    errors: tuple[str, ...]

    def subject(self) -> Subject:
        """The canonical envelope subject a connector would produce (validation is identity's job)."""
        idents: list[Identifier] = [{"system": s, "value": v, "validated": True} for s, v in self.identifiers]
        return {
            "identifiers": idents,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "birth_date": self.birth_date,
            "sex": self.sex,
            "postcode": self.postcode,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "child": self.child_index,
            "kind": self.kind,
            "organisation": self.organisation,
            "recorded_on": self.recorded_on.isoformat(),
            "identifiers": [list(i) for i in self.identifiers],
            "given_name": self.given_name,
            "family_name": self.family_name,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "sex": self.sex,
            "postcode": self.postcode,
            "errors": list(self.errors),
        }


def typo(rng: random.Random, name: str) -> str:
    if len(name) < 3:
        return name
    pos = rng.randrange(1, len(name))
    kind = rng.randrange(4)
    if kind == 0:
        return name[:pos] + rng.choice(_KEYBOARD) + name[pos + 1 :]
    if kind == 1:
        return name[:pos] + name[pos + 1 :]
    if kind == 2 and pos < len(name) - 1:
        return name[:pos] + name[pos + 1] + name[pos] + name[pos + 2 :]
    return name[:pos] + name[pos] + name[pos:]


class _Maker:
    def __init__(self, population: Population, rng: random.Random, reference: Reference) -> None:
        self.population = population
        self.rng = rng
        self.nicknames = reference.nickname_groups
        self.serial = 0

    def local_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial * 7919 % 10_000_019:08d}"

    def record(self, child: Child, p: Profile, org: str, errors: list[str]) -> SourceRecord:
        rng = self.rng
        span = max(1, (self.population.end - self.population.start).days)
        day = self.population.start + timedelta(days=rng.randrange(span))
        ids: list[tuple[str, str]] = [(f"urn:onestory:id:{org}:{p.kind.upper()}", self.local_id(p.kind[0].upper()))]
        if rng.random() < p.nhs:
            number = child.nhs_number
            if rng.random() < p.nhs_typo:
                number = identifiers.mistyped_nhs_number(rng, number)
                errors.append("nhs-typo")
            ids.append((NHS_NUMBER_SYSTEM, number))
        if rng.random() < p.upn:
            ids.append((UPN_SYSTEM, child.upn))
        given = child.given_name
        if child.middle_name and rng.random() < p.middle_as_given:
            given = child.middle_name
            errors.append("middle-name")
        elif rng.random() < p.nickname and given.lower() in self.nicknames:
            given = rng.choice(self.nicknames[given.lower()]).title()
            errors.append("nickname")
        if rng.random() < p.given_typo:
            given = typo(rng, given)
            errors.append("given-typo")
        family = child.family_name_on(day)
        if family != child.family_name:
            errors.append("adopted")
        if rng.random() < p.family_typo:
            family = typo(rng, family)
            errors.append("family-typo")
        true_dob = child.birth_date
        dob: date | None = true_dob
        if rng.random() < p.dob_missing:
            dob = None
            errors.append("dob-missing")
        elif rng.random() < p.dob_transposed and true_dob.day <= 12 and true_dob.day != true_dob.month:
            dob = true_dob.replace(day=true_dob.month, month=true_dob.day)
            errors.append("dob-transposed")
        elif rng.random() < p.dob_typo:
            dob = true_dob + timedelta(days=rng.choice((-2, -1, 1, 2)))
            errors.append("dob-typo")
        postcode: str | None = child.postcode_on(day)
        if len(child.addresses) > 1 and rng.random() < p.stale_postcode:
            postcode = child.addresses[0][1]
            errors.append("stale-postcode")
        if rng.random() < p.postcode_missing:
            postcode = None
            errors.append("postcode-missing")
        sex = None if rng.random() < p.sex_missing else child.sex
        return SourceRecord(
            f"{p.kind}-{self.serial}",
            child.index,
            p.kind,
            org,
            day,
            tuple(ids),
            given,
            family,
            dob,
            sex,
            postcode,
            tuple(errors),
        )


def generate_records(
    population: Population, seed: int | None = None, reference: Reference | None = None
) -> list[SourceRecord]:
    """Every source record of the population, in arrival order (by recorded date, then a seeded shuffle);
    `reference`: the bundled nicknames, read here when the caller has not."""
    rng = random.Random(population.seed * 1_000_003 + (seed or 0))
    maker = _Maker(population, rng, reference or Reference.bundled())
    out: list[SourceRecord] = []
    for child in population.children:
        for p in PROFILES:
            if rng.random() >= p.share:
                continue
            org = f"{p.kind.upper()}{child.household * 31 % ORGS_PER_KIND[p.kind]:03d}"
            out.append(maker.record(child, p, org, []))
            if rng.random() < p.duplicate:
                dup = maker.record(child, p, org, ["duplicate-registration"])
                out.append(dup)
    rng.shuffle(out)
    out.sort(key=lambda r: r.recorded_on)
    return out
