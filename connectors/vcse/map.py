"""VCSE JSON records → canonical events. Pure.

VCSE services usually work on the young person's consent, so a record names its consent reference; without
one the basis is "none" and only the service itself sees the entry until the consent engine says otherwise.
A record may instead name a `lawful_basis` (with `decided_by` and `basis_reason`; safeguarding needs both, and
a referral's own `reason` stands in for `basis_reason`). `consents` and `competence` arrays carry consent
decisions and competence assessments the service recorded (see connectors.consent_rows).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from connectors.batch import Batch, check_organisation
from connectors.canonical import EventSpec, Source, basis, recorded_lawful_bases
from connectors.consent_rows import competence_spec, consent_spec
from connectors.errors import MappingError
from connectors.people import row_subject
from connectors.tabular import Row, RowError, day_start, json_rows, load_json_object, map_rows
from connectors.voice import voice_payload
from hub.events.model import SharingBasis

RECORD_TYPES = ("session", "support_offered", "referral", "voice")
ARRAYS = ("records", "consents", "competence")


def _basis(row: Row) -> SharingBasis:
    consent = row.get("consent_id")
    if consent:
        return basis("consent", consent)
    code = row.get("lawful_basis")
    if not code:
        return basis("none")
    spec = recorded_lawful_bases().get(code)
    reason = row.get("basis_reason", "reason") if spec and spec.requires_decision else row.get("basis_reason")
    return basis(
        "lawful_basis",
        code,
        row.get("decided_by"),
        reason,
        location=row.at("lawful_basis"),
        decided_by_location=row.at("decided_by"),
        reason_location=row.at("basis_reason"),
    )


def _list(row: Row, name: str) -> list[str]:
    text = row.get(name)
    if not text:
        return []
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = [x.strip() for x in text.split(",")]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RowError("must be a list of strings", row.at(name))
    return value


def _attended(row: Row) -> bool | None:
    text = (row.get("attended") or "").lower()
    if not text:
        return None
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise RowError("attended must be true or false", row.at("attended"))


def _mapper(org: str, now: datetime) -> Callable[[Row], list[EventSpec]]:
    def mapper(row: Row) -> list[EventSpec]:
        rtype = (row.get("type") or "").lower()
        if rtype not in RECORD_TYPES:
            raise RowError(f"type must be one of {', '.join(RECORD_TYPES)}", row.at("type"))
        rec_id = row.need("id")
        when = row.date("date", required=True)
        assert when is not None
        subject = row_subject(row, org, "client", ("client_id",))
        sharing = _basis(row)
        if rtype == "voice":
            return [
                EventSpec(
                    "voice.recorded",
                    "voice-of-child",
                    f"voice|{rec_id}",
                    subject,
                    day_start(when),
                    now,
                    "The young person's own words recorded",
                    "Voice",
                    voice_payload(row),
                    sharing,
                )
            ]
        if rtype == "referral":
            ref_id = row.get("referral_id") or rec_id
            payload: dict[str, Any] = {
                "referral_id": ref_id,
                "status": "made",
                "from_organisation": org,
                "to_organisation": row.need("referred_to"),
                "to_service": row.get("service"),
                "reason": row.get("reason"),
                "urgency": row.get("urgency"),
                "redirected_to": None,
                "decline_reason": None,
            }
            return [
                EventSpec(
                    "referral.made",
                    "referral",
                    f"referral|{rec_id}",
                    subject,
                    day_start(when),
                    now,
                    "Onward referral made by a VCSE service",
                    "Referral",
                    payload,
                    sharing,
                    {"referral": ref_id},
                )
            ]
        session_type = "session" if rtype == "session" else "support-offered"
        payload = {
            "session_id": rec_id,
            "service": row.get("service"),
            "session_type": session_type,
            "attended": _attended(row),
            "support_offered": _list(row, "support_offered"),
            "next_steps": row.get("next_steps"),
        }
        words = "VCSE support session" if rtype == "session" else "VCSE support offered"
        return [
            EventSpec(
                "vcse.session",
                "vcse-support",
                f"{rtype}|{rec_id}",
                subject,
                day_start(when),
                now,
                words,
                "VcseSession",
                payload,
                sharing,
                {"referral": row.get("referral_id") or ""},
            )
        ]

    return mapper


def _consent(org: str, now: datetime) -> Callable[[Row], list[EventSpec]]:
    return lambda row: [consent_spec(row, row_subject(row, org, "client", ("client_id",)), org, now)]


def _competence(org: str, now: datetime) -> Callable[[Row], list[EventSpec]]:
    return lambda row: [competence_spec(row, row_subject(row, org, "client", ("client_id",)), now)]


def map_json(body: bytes, organisation: str, now: datetime) -> Batch:
    """{"organisation": "...", "records": [{"type": "session", "id": "...", "client_id": "...", ...}],
    "consents": [...], "competence": [...]}: any of the three arrays."""
    data = load_json_object(body)
    org = check_organisation(data.get("organisation"), organisation, "organisation")
    if not any(name in data for name in ARRAYS):
        raise MappingError("no records: give a records, consents or competence array", "records")
    source = Source("vcse", "vcse", org, "vcse")
    mappers = {"records": _mapper(org, now), "consents": _consent(org, now), "competence": _competence(org, now)}
    batch = Batch()
    for name in ARRAYS:
        if name in data:
            rows = json_rows(data[name], name, {"organisation": org}, f"application/json; org={org}")
            part = map_rows(rows, mappers[name], source)
            batch.events += part.events
            batch.issues += part.issues
    return batch
