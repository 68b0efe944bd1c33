"""Segment readers: one parsed HL7 v2 message → the fields of one typed payload. Pure.

Each reader returns (payload fields, correlation ids, occurred-at hint). They never raise on a missing
optional field: only what the payload cannot exist without (a referral id, MRG-1) is a MappingError.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from connectors.canonical import consent_payload, nhs_identifier
from connectors.errors import MappingError
from connectors.hl7v2.parse import Hl7Message, Segment
from hub.events.model import Identifier

LONDON = ZoneInfo("Europe/London")
_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$")
Read = tuple[dict[str, Any], dict[str, str], datetime | None]


def parse_ts(value: str | None, location: str) -> datetime | None:
    """HL7 TS/DTM; no offset means English local time (the feeds this hub takes are English)."""
    if not value:
        return None
    match = _TS.match(value.strip())
    if not match:
        raise MappingError(
            f"not an HL7 date/time: expected YYYYMMDD[HHMM[SS]][+ZZZZ], got {len(value)} chars", location
        )
    y, mo, d, h, mi, s, tz = match.groups()
    try:
        naive = datetime(int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(s or 0))
        if tz:
            sign = 1 if tz[0] == "+" else -1
            offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * sign
            return naive.replace(tzinfo=timezone(offset)).astimezone(UTC)
    except ValueError as exc:
        raise MappingError(f"impossible date/time ({exc})", location) from exc
    return naive.replace(tzinfo=LONDON).astimezone(UTC)


def identifiers(
    seg: Segment, number: int, org: str, nhs_authorities: frozenset[str], nhs_types: frozenset[str]
) -> list[Identifier]:
    """CX repetitions (PID-3, MRG-1): NHS numbers by assigning authority or type, the rest scoped locally."""
    found: list[Identifier] = []
    for rep in seg.repetitions(number):
        value = rep[0].strip() if rep else ""
        if not value or value == '""':
            continue
        authority = (rep[3].split(seg.delimiters.subcomponent)[0] if len(rep) > 3 else "").strip()
        id_type = (rep[4] if len(rep) > 4 else "").strip()
        if authority.upper() in nhs_authorities or id_type.upper() in nhs_types:
            found.append(nhs_identifier(value))
        else:
            scope = authority or id_type or "local"
            found.append({"system": f"urn:onestory:id:{org}:{scope}", "value": value, "validated": True})
    return found


def person_name(seg: Segment, number: int) -> str | None:
    """An XCN as people read it ("Dr Clare Pain", prefix, given, family), else its id (XCN-1) if no name is sent."""
    words = [seg.value(number, c) for c in (6, 3, 2)]
    return " ".join(w for w in words if w) if words[1] or words[2] else seg.value(number, 1)


def encounter(message: Hl7Message, status: str | None) -> Read:
    pv1 = message.first("PV1")
    if pv1 is None:
        fields: dict[str, Any] = {
            "encounter_id": None,
            "encounter_class": None,
            "location": None,
            "clinician": None,
            "started_at": None,
            "ended_at": None,
        }
        return fields, {}, None
    fields = {
        "encounter_id": pv1.value(19),
        "encounter_class": pv1.value(2),
        "location": pv1.value(3, 1),
        "clinician": person_name(pv1, 7),
        "started_at": parse_ts(pv1.value(44), "PV1-44"),
        "ended_at": parse_ts(pv1.value(45), "PV1-45"),
    }
    corr = {"encounter": fields["encounter_id"]} if fields["encounter_id"] else {}
    return fields, corr, fields["ended_at"] or fields["started_at"]


def person(message: Hl7Message, status: str | None) -> Read:
    pd1 = message.first("PD1")
    return {"registered_gp": pd1.value(3, 3) or pd1.value(3, 1) if pd1 else None}, {}, None


def correction(message: Hl7Message, status: str | None) -> Read:
    pv1 = message.first("PV1")
    visit = pv1.value(19) if pv1 else None
    target = f"encounter:{visit}" if visit else "encounter:unknown"
    reason_seg = message.first("PV2")
    reason = status or (reason_seg.value(4, 2) if reason_seg else None)
    return (
        {"target_record_id": target, "target_event_id": None, "corrected_fields": [], "reason": reason},
        {"encounter": visit} if visit else {},
        None,
    )


def appointment(message: Hl7Message, status: str | None) -> Read:
    sch = message.first("SCH")
    if sch is None:  # ADT^A05 pre-admission: the planned admission is the appointment
        pv1, pv2 = message.first("PV1"), message.first("PV2")
        visit = pv1.value(19) if pv1 else None
        starts = parse_ts(pv2.value(8), "PV2-8") if pv2 else None
        fields = {
            "appointment_id": visit,
            "status": status or "booked",
            "service": "pre-admission",
            "location": pv1.value(3, 1) if pv1 else None,
            "clinician": person_name(pv1, 7) if pv1 else None,
            "starts_at": starts,
            "ends_at": None,
            "reason": pv2.value(3, 2) if pv2 else None,
        }
        return fields, {"encounter": visit} if visit else {}, None
    appt_id = sch.value(2) or sch.value(1)
    if not appt_id:
        raise MappingError("no appointment id (SCH-1 placer or SCH-2 filler appointment id)", "SCH-2")
    tq1 = message.first("TQ1")
    starts = parse_ts(tq1.value(7), "TQ1-7") if tq1 and tq1.value(7) else parse_ts(sch.value(11, 4), "SCH-11.4")
    ends = parse_ts(tq1.value(8), "TQ1-8") if tq1 and tq1.value(8) else parse_ts(sch.value(11, 5), "SCH-11.5")
    ais, ail, aip = message.first("AIS"), message.first("AIL"), message.first("AIP")
    fields = {
        "appointment_id": appt_id,
        "status": status or "booked",
        "service": (ais.value(3, 2) or ais.value(3, 1)) if ais else sch.value(7, 2) or sch.value(8, 1),
        "location": ail.value(3, 1) if ail else None,
        "clinician": person_name(aip, 3) if aip else None,
        "starts_at": starts,
        "ends_at": ends,
        "reason": sch.value(7, 1) or sch.value(6, 1),
    }
    return fields, {"appointment": appt_id}, starts if status in ("missed",) else None


def referral(message: Hl7Message, status: str | None) -> Read:
    rf1 = message.first("RF1")
    if rf1 is None:
        raise MappingError("REF^I12 without an RF1 segment", "RF1")
    referral_id = rf1.value(6)
    if not referral_id:
        raise MappingError("no referral identifier", "RF1-6")
    providers = {p.value(1): p for p in message.all("PRD")}
    referring, referred_to = providers.get("RP"), providers.get("RT")
    fields = {
        "referral_id": referral_id,
        "status": status or "made",
        "from_organisation": _provider_org(referring),
        "to_organisation": _provider_org(referred_to),
        "to_service": rf1.value(3, 2) or rf1.value(3, 1),
        "reason": rf1.value(10, 2) or rf1.value(10, 1),
        "urgency": rf1.value(2, 2) or rf1.value(2, 1),
        "redirected_to": None,
        "decline_reason": None,
    }
    return fields, {"referral": referral_id}, parse_ts(rf1.value(7), "RF1-7")


def _provider_org(prd: Segment | None) -> str | None:
    if prd is None:
        return None
    return prd.value(4, 10) or prd.value(4, 4) or prd.value(7, 1)


def merge(message: Hl7Message, org: str, nhs_authorities: frozenset[str], nhs_types: frozenset[str]) -> Read:
    mrg = message.first("MRG")
    if mrg is None:
        raise MappingError("ADT^A40 without an MRG segment", "MRG")
    retired = identifiers(mrg, 1, org, nhs_authorities, nhs_types)
    if not retired:
        raise MappingError("no prior patient identifier to retire", "MRG-1")
    evn = message.first("EVN")
    return {"retired_identifiers": retired, "reason": evn.value(4, 2) or evn.value(4, 1) if evn else None}, {}, None


def consents(message: Hl7Message, rules: dict[str, Any], recorded_by: str) -> list[Read]:
    """Each CON segment → Consent payload fields (rules: mapping.yaml `consent`). B/P statuses are skipped."""
    out: list[Read] = []
    for n, con in enumerate(message.all("CON"), start=1):
        where = f"CON[{n}]" if n > 1 else "CON"
        raw_status = (con.value(11) or "").upper()
        if raw_status in ("B", "P"):
            continue
        status = rules["status"].get(raw_status)
        if status is None:
            raise MappingError(
                f"consent status must be one of {', '.join(rules['status'])} (HL7 table 0498), or B/P", f"{where}-11"
            )
        relationship = con.value(25)
        if relationship:
            given_by = rules["given_by"].get(relationship)
            if given_by is None:
                raise MappingError(
                    f"relationship {relationship[:8]!r} cannot decide for a child here: use 1 (self), 2 (parent) or "
                    "5 (conservator/guardian with parental responsibility)",
                    f"{where}-25",
                )
        elif con.value(23):
            raise MappingError("a non-subject consenter (CON-23) must give their relationship", f"{where}-25")
        else:
            given_by = "young-person"
        type_code = con.value(2) or rules["default_type"]
        scope = rules["types"].get(type_code)
        if scope is None:
            raise MappingError(
                f"consent type {type_code[:20]!r} is not taken (taken: {', '.join(rules['types'])})", f"{where}-2"
            )
        competence = (con.value(16) or "").upper()
        consent_id = con.value(4) or con.value(3) or f"{message.header.control_id}-{con.value(1) or n}"
        fields = consent_payload(
            consent_id,
            status,
            given_by,
            recorded_by,
            organisations=scope.get("organisations") or (),
            organisation_types=scope.get("organisation_types") or (),
            categories=scope.get("categories") or (),
            purposes=scope.get("purposes") or (),
            start=parse_ts(con.value(14), f"{where}-14"),
            end=parse_ts(con.value(15), f"{where}-15"),
            competent={"Y": True, "N": False}.get(competence) if given_by == "young-person" else None,
        )
        out.append((fields, {"consent": consent_id}, parse_ts(con.value(13), f"{where}-13")))
    return out


def coded(message: Hl7Message) -> list[tuple[str, str]]:
    """(system, code) pairs the value sets read: PV1-16 VIP indicator, PV1-10 hospital service, PV1-3.1 point of
    care, and DG1-3 diagnoses (CWE code^text^coding system)."""
    out: list[tuple[str, str]] = []
    pv1 = message.first("PV1")
    if pv1 is not None:
        for number, component, table in ((16, 1, "0099"), (10, 1, "0069"), (3, 1, "0302")):
            value = pv1.value(number, component)
            if value:
                out.append((f"http://terminology.hl7.org/CodeSystem/v2-{table}", value))
    for dg1 in message.all("DG1"):
        code, system = dg1.value(3, 1), dg1.value(3, 3)
        if code:
            out.append((system or "", code))
    return out
