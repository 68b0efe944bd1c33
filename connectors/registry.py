"""Connector name + kept body → the same pure intake the transport ran, so dead letters can be replayed.

The dead-letter content type carries what the transport knew besides the bytes (record type, sending
organisation), e.g. `text/csv; type=attendance; org=100001`. An HL7 v2 message names its sender in MSH-4, which
is typed through the operator's organisation directory exactly as the MLLP intake does it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache, partial

from connectors.batch import Batch
from connectors.education import map as education
from connectors.errors import MappingError
from connectors.fhir.map import map_request
from connectors.hl7v2.map import Hl7Mapping, map_message
from connectors.hl7v2.parse import parse
from connectors.hl7v2.senders import sender
from connectors.my_story.map import map_choices, map_question
from connectors.self_referral.map import map_form
from connectors.social_care import map as social_care
from connectors.social_care import ssda903
from connectors.vcse import map as vcse
from consent_engine.directory import Directory

ATOMIC = frozenset({"hl7v2", "fhir", "self_referral", "my_story"})


def content_params(content_type: str) -> tuple[str, dict[str, str]]:
    """'text/csv; type=attendance; org=100001' → ('text/csv', {'type': 'attendance', 'org': '100001'})."""
    media, *params = [p.strip() for p in content_type.split(";")]
    out = {}
    for p in params:
        key, _, value = p.partition("=")
        out[key.strip().lower()] = value.strip().strip('"')
    return media.lower(), out


def _org(params: dict[str, str]) -> str:
    if not params.get("org"):
        raise MappingError("the kept input does not record its sending organisation", "content-type")
    return params["org"]


@cache
def _hl7_mapping() -> Hl7Mapping:
    """Read once: parsing mapping.yaml per message was half of a replayed HL7 message's cost."""
    return Hl7Mapping.bundled()


def _hl7(directory: Directory, body: bytes, content_type: str, now: datetime) -> Batch:
    message = parse(body)
    org = sender(message.header, directory)
    return Batch(events=map_message(message, _hl7_mapping(), now, organisation=org.code, organisation_type=org.type))


def _fhir(body: bytes, content_type: str, now: datetime) -> Batch:
    return map_request(body, _org(content_params(content_type)[1]), now)


def _education(body: bytes, content_type: str, now: datetime) -> Batch:
    media, params = content_params(content_type)
    if media == "text/csv":
        return education.map_csv(body, params.get("type"), _org(params), None, now)
    return education.map_json(body, _org(params), now)


def _social_care(body: bytes, content_type: str, now: datetime) -> Batch:
    media, params = content_params(content_type)
    if media == "text/csv":
        return ssda903.map_csv(body, params.get("type"), _org(params), None, now)
    return social_care.map_json(body, _org(params), now)


def _vcse(body: bytes, content_type: str, now: datetime) -> Batch:
    return vcse.map_json(body, _org(content_params(content_type)[1]), now)


def _self_referral(body: bytes, content_type: str, now: datetime) -> Batch:
    return map_form(body, now)


def _my_story(body: bytes, content_type: str, now: datetime) -> Batch:
    """The page sends choices or a message; a message is the one with a message id."""
    return map_question(body, now) if b'"message_id"' in body else map_choices(body, now)


Intake = Callable[[bytes, str, datetime], Batch]
# The connectors whose input needs nothing but the bytes and their content type.
CONNECTORS: dict[str, Intake] = {
    "fhir": _fhir,
    "education": _education,
    "social_care": _social_care,
    "vcse": _vcse,
    "self_referral": _self_referral,
    "my_story": _my_story,
}


def replayers(directory: Directory) -> dict[str, Intake]:
    """Every connector's intake; HL7 v2 types MSH-4 through `directory`, the operator's (as the hub that took it)."""
    return CONNECTORS | {"hl7v2": partial(_hl7, directory)}
