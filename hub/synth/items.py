"""One emitted source item (an HL7 message, a FHIR request, a CSV row, a JSON record) and what should become of it.

Every emitter returns Items, so the assembler can write files, count kinds and list the rejections the
generator meant to cause, and the tests can check the connectors agree, without knowing any format.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from hub.synth.records import SourceRecord

LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Rejection:
    """A deliberate error the connector is expected to refuse: the generator's label and the connector's words."""

    error: str  # e.g. upn-missing
    field: str  # the column, form field or element the connector names
    reason: str  # the connector's reason, exactly


@dataclass(frozen=True)
class Item:
    source: str  # hl7v2 | fhir | education | social-care | vcse | self-referral
    file: str  # path under sources/
    when: int  # minutes since 0001-01-01 local time: the order the sender sends in
    body: Any  # str (HL7, CSV row text) or dict (FHIR resource, JSON record, form)
    kinds: tuple[str, ...]  # the canonical kinds the connector makes of it
    child: int  # ground truth; never written into sources/
    org: str  # the sending organisation's code (its token is bound to it)
    rejection: Rejection | None = None


def minutes(day: date, minute: int) -> int:
    return day.toordinal() * 1440 + minute


def local_iso(day: date, minute: int = 0) -> str:
    """A FHIR dateTime with the English offset of that moment (FHIR needs a zone when a time is given)."""
    moment = datetime.combine(day, time(minute // 60 % 24, minute % 60), tzinfo=LONDON)
    return moment.isoformat(timespec="seconds")


def local_id(record: SourceRecord) -> str:
    """The agency's own id for the child (records.py puts it first)."""
    return record.identifiers[0][1]


def identifier(record: SourceRecord, system: str) -> str | None:
    return next((v for s, v in record.identifiers if s == system), None)
