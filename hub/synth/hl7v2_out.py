"""Hospital and CAMHS-PAS happenings → HL7 v2 messages, as the trust's interface engine would send them.

Acute trusts send ADT (A04 registration at A&E or clinic, A01 admission, A03 discharge, A11 cancel, A40
merge of a duplicate registration) and REF^I12 (A&E referral to CAMHS); CAMHS teams' patient administration
systems send SIU (S12 booked, S15 cancelled, S26 did not attend). Only what the hub's mapping.yaml takes is
sent, with the segments payloads.py reads. PID carries the trust's view of the child (records.py): MRN
scoped by the trust, the NHS number as the trust holds it (a mistyped one fails its check and is carried
unvalidated beside the MRN, so the message is still accepted).
"""

from __future__ import annotations

from datetime import date, datetime

from connectors.identifiers import NHS_NUMBER_SYSTEM
from hub.synth.events import Happening, uid
from hub.synth.items import Item, identifier, local_id, minutes
from hub.synth.organisations import Organisations
from hub.synth.records import SourceRecord

APPLICATION = {"acute": "PAS", "camhs": "CAMHS-PAS"}
STRUCTURE = {
    "ADT^A01": "ADT_A01",
    "ADT^A03": "ADT_A03",
    "ADT^A04": "ADT_A01",
    "ADT^A11": "ADT_A09",
    "ADT^A40": "ADT_A39",
    "REF^I12": "REF_I12",
    "SIU^S12": "SIU_S12",
    "SIU^S15": "SIU_S12",
    "SIU^S26": "SIU_S12",
}
KINDS = {
    "ADT^A01": "encounter.started",
    "ADT^A03": "encounter.ended",
    "ADT^A04": "encounter.started",
    "ADT^A11": "entry.entered-in-error",
    "ADT^A40": "patient.merged",
    "REF^I12": "referral.made",
    "SIU^S12": "appointment.booked",
    "SIU^S15": "appointment.cancelled",
    "SIU^S26": "appointment.missed",
}
SIU = {"booked": "SIU^S12", "cancelled": "SIU^S15", "missed": "SIU^S26"}


def ts(day: date, minute: int) -> str:
    """HL7 TS in English local time (no offset: the hub reads such times as Europe/London)."""
    return f"{day:%Y%m%d}{minute // 60 % 24:02d}{minute % 60:02d}"


def ts_of(moment: datetime) -> str:
    return f"{moment:%Y%m%d%H%M}"


def segment(name: str, fields: dict[int, str]) -> str:
    return name + "|" + "|".join(fields.get(i, "") for i in range(1, max(fields) + 1))


def pid(record: SourceRecord, org: str) -> str:
    ids = [f"{local_id(record)}^^^{org}^MR"]
    nhs = identifier(record, NHS_NUMBER_SYSTEM)
    if nhs:
        ids.append(f"{nhs}^^^NHS^NH")
    return segment(
        "PID",
        {
            1: "1",
            3: "~".join(ids),
            5: f"{record.family_name or ''}^{record.given_name or ''}",
            7: f"{record.birth_date:%Y%m%d}" if record.birth_date else "",
            8: record.sex or "",
            11: f"^^^^{record.postcode}" if record.postcode else "",
        },
    )


def message(h: Happening, org: str, mtype: str, body: list[str], seed: int, n: int = 0) -> str:
    app = APPLICATION.get(h.agency, "PAS")
    control = "M" + uid(seed, org, h.what, h.day, h.minute, h.data.get("visit") or h.data.get("id") or "", n)
    version = "2.5.1" if mtype.startswith("SIU") else "2.4"
    at = ts(h.day, h.minute)
    msh = f"MSH|^~\\&|{app}|{org}|ONESTORY|ONESTORY|{at}||{mtype}^{STRUCTURE[mtype]}|{control}|P|{version}"
    evn = f"EVN|{mtype.split('^')[1]}|{ts(h.day, h.minute)}"
    return "\r".join([msh, evn, *body])


def _pv1(h: Happening, org: str, ended: bool) -> str:
    data = h.data
    fields = {
        1: "1",
        2: data["class"],
        3: f"{'AE' if data['class'] == 'E' else 'WARD1' if data['class'] == 'I' else 'OPD'}^^^{org}",
        7: f"C{uid(0, org, 'clinician', data['visit'])[:6]}^DUTY^DOCTOR",
        19: data["visit"],
        44: ts_of(data["started"]),
    }
    if ended:
        fields[45] = ts_of(data["ended"])
    return segment("PV1", fields)


def render(h: Happening, child: int, seed: int, organisation: Organisations) -> list[Item]:
    assert h.record is not None
    org = organisation(h.record.organisation).code
    mtype, body = _build(h, org, organisation)
    text = message(h, org, mtype, body, seed)
    return [Item("hl7v2", f"hl7v2/{org}.hl7", minutes(h.day, h.minute), text, (KINDS[mtype],), child, org)]


def _build(h: Happening, org: str, organisation: Organisations) -> tuple[str, list[str]]:
    record, data = h.record, h.data
    assert record is not None
    if h.what == "encounter-start":
        return ("ADT^A01" if data["class"] == "I" else "ADT^A04"), [pid(record, org), _pv1(h, org, ended=False)]
    if h.what == "encounter-end":
        return "ADT^A03", [pid(record, org), _pv1(h, org, ended=True)]
    if h.what == "encounter-cancelled":
        return "ADT^A11", [pid(record, org), _pv1(h, org, ended=False)]
    if h.what == "merge":
        retired: SourceRecord = data["retired"]
        mrg = f"MRG|{local_id(retired)}^^^{org}^MR"
        return "ADT^A40", [pid(record, org), mrg]
    if h.what == "referral":
        to = organisation(data["to"]).code
        urgency = "U^Urgent" if data["urgency"] == "urgent" else "R^Routine"
        rf1 = segment(
            "RF1",
            {
                1: "P^Pending",
                2: urgency,
                3: "CAMHS^Child and adolescent mental health service",
                5: "O^Outpatient",
                6: data["referral_id"],
                7: f"{h.day:%Y%m%d}",
                10: f"{data['reason_code']}^{data['reason']}",
            },
        )
        providers = [f"PRD|RP^Referring Provider||||||{org}", f"PRD|RT^Referred to Provider||||||{to}"]
        return "REF^I12", [rf1, *providers, pid(record, org)]
    if h.what == "appointment":
        mtype = SIU[data["status"]]
        start = data["starts"]
        begin, finish = ts(start, data["minute"]), ts(start, data["minute"] + 50)
        service = "CAMHS^Child and adolescent mental health service" if h.agency == "camhs" else "PAED^Paediatrics"
        body = [
            segment("SCH", {1: data["id"], 2: data["id"], 7: "FU^Follow-up" if h.agency == "camhs" else "NEW^New"}),
            f"TQ1|1||||||{begin}|{finish}",
            pid(record, org),
            f"AIS|1||{service}",
            f"AIL|1||CLINIC1^^^{org}",
            f"AIP|1||C{uid(0, org, 'clinician', data['id'])[:6]}^CLINICIAN^DUTY",
        ]
        return mtype, body
    raise ValueError(f"no HL7 v2 message for {h.agency} {h.what}")
