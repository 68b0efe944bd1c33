"""Which children an IG officer means, and how to name them on the access log's rows.

An IG officer asks "who looked at Amara Okafor?" or "at 943 476 5870?", not at a hub child id. Both are
answered from the client registry (`child_identifiers`, `identity_records`), never from the timeline: the IG
side sees who and why, not clinical content. Names in the registry are normalised for matching (lower case,
accents and punctuation folded), so a child's label takes the name as the most recent event gave it and falls
back to the registry's form only when no event is stored.

Here rather than in hub.audit because matching a name uses the identity layer's own normalisation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from connectors.identifiers import NHS_NUMBER_SYSTEM, is_valid_nhs_number, normalise_nhs_number
from hub.db.identity_tables import identity_records
from hub.db.tables import child_identifiers, event_store
from hub.events.codec import EventCodec
from projections.identity.names import name_tokens

MAX_NAME_MATCHES = 50  # more than a page of children: the officer is asked to add a date of birth or a given name
_CHUNK = 500


class SearchTermError(ValueError):
    """The term cannot identify a child (not an NHS number, a name too short): says why, never echoes it."""


@dataclass(frozen=True)
class ChildLabel:
    child_id: str
    name: str | None
    nhs_number: str | None  # formatted 3-3-4
    birth_date: date | None

    def as_json(self) -> dict[str, Any]:
        return {
            "childId": self.child_id,
            "name": self.name,
            "nhsNumber": self.nhs_number,
            "birthDate": self.birth_date.isoformat() if self.birth_date else None,
        }


def nhs_number_3_3_4(value: str) -> str:
    """`9434765870` → `943 476 5870`, the way the NHS writes it; anything else unchanged."""
    digits = normalise_nhs_number(value)
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 and digits.isdigit() else value


def children_by_nhs_number(conn: Connection, text: str) -> list[str]:
    """The child holding this NHS number (spaces and dashes allowed), or none; an invalid number is an error."""
    if not is_valid_nhs_number(text):
        raise SearchTermError("an NHS number is 10 digits with a valid check digit")
    found = conn.execute(
        select(child_identifiers.c.child_id).where(
            child_identifiers.c.system == NHS_NUMBER_SYSTEM,
            child_identifiers.c.value == normalise_nhs_number(text),
        )
    ).scalars()
    return sorted(set(found))


def children_by_name(conn: Connection, text: str, limit: int = MAX_NAME_MATCHES) -> list[str]:
    """Children any of whose source records has every word of `text` starting a word of the given or family name.

    "okafor", "amara okafor" and "am ok" all find Amara Okafor; matching is on the registry's normalised names,
    so accents, case and punctuation do not matter. At most `limit` children, in id order.
    """
    tokens = name_tokens(text)
    if not tokens or sum(len(t) for t in tokens) < 2:
        raise SearchTermError("a name search needs at least two letters")
    given, family = identity_records.c.given_name, identity_records.c.family_name
    # Normalised tokens hold only a-z, "-" and no LIKE wildcards; hyphens were turned into spaces.
    words = [
        or_(*(column.like(pattern) for column in (given, family) for pattern in (f"{t}%", f"% {t}%"))) for t in tokens
    ]
    found = conn.execute(
        select(identity_records.c.child_id)
        .where(and_(*words))
        .distinct()
        .order_by(identity_records.c.child_id)
        .limit(limit)
    ).scalars()
    return list(found)


def labels(conn: Connection, codec: EventCodec, child_ids: Iterable[str]) -> dict[str, ChildLabel]:
    """Name, NHS number (3-3-4) and date of birth for each child id; ids unknown to the registry are left out."""
    ids = sorted({c for c in child_ids if c})
    nhs: dict[str, str] = {}
    registry: dict[str, tuple[str, str, date | None]] = {}  # the newest record's (given, family, birth date)
    subjects: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for row in conn.execute(
            select(child_identifiers.c.child_id, child_identifiers.c.value).where(
                child_identifiers.c.system == NHS_NUMBER_SYSTEM, child_identifiers.c.child_id.in_(chunk)
            )
        ):
            nhs.setdefault(row.child_id, row.value)
        records = conn.execute(
            select(
                identity_records.c.child_id,
                identity_records.c.given_name,
                identity_records.c.family_name,
                identity_records.c.birth_date,
            )
            .where(identity_records.c.child_id.in_(chunk))
            .order_by(identity_records.c.first_seen.desc())
        )
        for rec in records:
            registry.setdefault(rec.child_id, (rec.given_name, rec.family_name, rec.birth_date))
        subjects.update(_latest_subjects(conn, codec, chunk))
    out = {}
    for child_id in ids:
        if child_id not in registry and child_id not in nhs:
            continue
        subject = subjects.get(child_id, {})
        given, family, registered_birth = registry.get(child_id, ("", "", None))
        name = _name(subject.get("given_name"), subject.get("family_name")) or _name(given, family, title=True)
        born = subject.get("birth_date") or registered_birth
        number = nhs.get(child_id)
        out[child_id] = ChildLabel(child_id, name, nhs_number_3_3_4(number) if number else None, born)
    return out


def _latest_subjects(conn: Connection, codec: EventCodec, child_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each child's demographics as their most recently recorded event gave them (as hub.read.children's
    `latest_subject`, for many children in one query)."""
    newest = (
        select(
            event_store.c.child_id,
            event_store.c.body,
            func.row_number()
            .over(
                partition_by=event_store.c.child_id,
                order_by=(event_store.c.recorded_at.desc(), event_store.c.seq.desc()),
            )
            .label("n"),
        )
        .where(event_store.c.child_id.in_(child_ids))
        .subquery()
    )
    rows = conn.execute(select(newest.c.child_id, newest.c.body).where(newest.c.n == 1))
    return {row.child_id: codec.decode(row.body)["subject"] for row in rows}


def _name(given: str | None, family: str | None, title: bool = False) -> str | None:
    parts = [p.strip() for p in (given, family) if p and p.strip()]
    if not parts:
        return None
    text = " ".join(parts)
    return text.title() if title else text
