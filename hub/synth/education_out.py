"""School happenings → school MIS export rows: one CSV per school and record type, the columns map.py reads.

Each row carries the school's view of the pupil (records.py): UPN, legal forename as the school holds it
(nickname or typo included), surname, DOB (dd/mm/yyyy), gender, postcode. A pupil on roll without a UPN
(about 1% of school records) is exported with the UPN cell empty, as MIS exports do; the connector refuses
every such row ("row N, column UPN: required value is missing"), which the manifest lists as expected.
"""

from __future__ import annotations

import csv
import io

from connectors.identifiers import UPN_SYSTEM
from hub.synth.events import Happening
from hub.synth.items import Item, Rejection, identifier, minutes
from hub.synth.organisations import Organisations

PERSON = ("UPN", "Forename", "Surname", "DOB", "Gender", "Postcode")
COLUMNS = {
    "pupils": (*PERSON, "Admission Date"),
    "attendance": (*PERSON, "Week Start", "Marks"),
    "concerns": (
        *PERSON,
        "Concern Id",
        "Type",
        "Category",
        "Severity",
        "Raised Date",
        "Raised By Role",
        "Action Taken",
        "Decided By",
        "Reason",
    ),
    "referrals": (*PERSON, "Referral Id", "Date", "Referred To", "Service", "Reason", "Urgency"),
    "sen": (*PERSON, "Status", "Previous Status", "Primary Need", "Effective Date"),
    "exclusions": (*PERSON, "Exclusion Id", "Type", "Start Date", "Sessions", "Reason"),
}
KINDS = {
    "pupils": "person.registered",
    "attendance": "attendance.summary",
    "concerns": "concern.raised",
    "referrals": "referral.made",
    "sen": "sen.status-changed",
    "exclusions": "exclusion.recorded",
}
UPN_MISSING = Rejection("upn-missing", "UPN", "required value is missing")


def csv_line(cells: list[str]) -> str:
    """One CSV row without its line end; quoting only when a cell needs it (most never do)."""
    if not any(ch in cell for cell in cells for ch in ',"\n\r'):
        return ",".join(cells)
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def header(rtype: str) -> str:
    return csv_line(list(COLUMNS[rtype]))


def _cells(h: Happening, org: str, organisation: Organisations) -> tuple[str, list[str]]:
    d = h.data
    if h.what == "pupil":
        return "pupils", [f"{d['admitted']:%d/%m/%Y}"]
    if h.what == "attendance":
        return "attendance", [f"{d['week']:%d/%m/%Y}", d["marks"]]
    if h.what == "concern":
        return "concerns", [
            d["id"],
            d["type"],
            d["category"],
            d["severity"],
            f"{h.day:%d/%m/%Y}",
            d["role"],
            d["action"],
            *(  # a safeguarding concern carries who decided to share and why (the lawful basis is refused without)
                ["designated-safeguarding-lead DSL-1", f"{d['category']}: risk of significant harm"]
                if d["type"] == "safeguarding"
                else ["", ""]
            ),
        ]
    if h.what == "referral":
        to = organisation(d["to"]).code
        return "referrals", [d["referral_id"], f"{h.day:%d/%m/%Y}", to, "CAMHS", d["reason"], d["urgency"]]
    if h.what == "referral-vcse":
        to = organisation(d["to"]).code
        return "referrals", [d["referral_id"], f"{h.day:%d/%m/%Y}", to, "VCSE support", "wellbeing", "routine"]
    if h.what == "sen":
        return "sen", [d["status"], d["previous"], d["need"], f"{h.day:%d/%m/%Y}"]
    if h.what == "exclusion":
        return "exclusions", [d["id"], "Suspension", f"{h.day:%d/%m/%Y}", str(d["sessions"]), d["reason"]]
    raise ValueError(f"no school MIS row for {h.what}")


def render(h: Happening, child: int, seed: int, organisation: Organisations) -> list[Item]:
    record = h.record
    assert record is not None
    org = organisation(record.organisation).code
    rtype, rest = _cells(h, org, organisation)
    upn = identifier(record, UPN_SYSTEM) or ""
    person = [
        upn,
        record.given_name or "",
        record.family_name or "",
        f"{record.birth_date:%d/%m/%Y}" if record.birth_date else "",
        record.sex or "",
        record.postcode or "",
    ]
    text = csv_line(person + rest)
    rejection = None if upn else UPN_MISSING
    return [
        Item(
            "education",
            f"education/{org}-{rtype}.csv",
            minutes(h.day, h.minute),
            text,
            () if rejection else (KINDS[rtype],),
            child,
            org,
            rejection,
        )
    ]
