"""IG exports: CSV and FHIR AuditEvent NDJSON of any search, and a child's disclosure report as CSV or PDF.

The disclosure report answers a subject access request: who saw what of this child's record, when and why.
It lists metadata only (entry ids and the level shown), never what the entries say.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from fhir.resources.R4B.auditevent import AuditEvent
from fpdf import FPDF

from hub.audit.fhir_audit import audit_event

CSV_COLUMNS = (
    "seq",
    "recordedAt",
    "action",
    "outcome",
    "user",
    "organisation",
    "role",
    "purpose",
    "childId",
    "query",
    "entries",
    "clientAddress",
    "policyVersion",
    "reason",
    "legitimateRelationship",
)
REPORT_COLUMNS = (
    "When (UTC)",
    "Who",
    "Organisation",
    "Role",
    "Why",
    "Action",
    "Outcome",
    "What (entry: level)",
    "Query",
)


def _entries_text(entries: list[dict[str, str]]) -> str:
    return "; ".join(f"{e.get('id')}:{e.get('level')}" for e in entries)


def _safe_cell(value: Any) -> str:
    """Plain text for a spreadsheet: a leading = + - @ would be read as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def to_csv(items: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in items:
        row = {**item, "entries": _entries_text(item.get("entries") or [])}
        writer.writerow([_safe_cell(row.get(col)) for col in CSV_COLUMNS])
    return out.getvalue()


def to_ndjson(items: Iterable[dict[str, Any]]) -> str:
    """One validated AuditEvent per line; an event that fails validation is a bug, so it raises."""
    lines = []
    for item in items:
        event = AuditEvent.model_validate(audit_event(item))
        lines.append(json.dumps(json.loads(event.model_dump_json(exclude_none=True)), separators=(",", ":")))
    return "\n".join(lines) + ("\n" if lines else "")


def _report_row(item: dict[str, Any]) -> list[str]:
    why = item["purpose"] + (f" - {item['reason']}" if item.get("reason") else "")
    if item.get("legitimateRelationship") is False:
        why += " (no legitimate relationship)"
    return [
        item["recordedAt"][:19].replace("T", " "),
        item["user"],
        item["organisation"],
        item["role"],
        why,
        item["action"],
        item["outcome"],
        _entries_text(item.get("entries") or []),
        item.get("query") or "",
    ]


def disclosure_csv(items: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REPORT_COLUMNS)
    for item in items:
        writer.writerow([_safe_cell(v) for v in _report_row(item)])
    return out.getvalue()


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def disclosure_pdf(
    child_id: str,
    items: list[dict[str, Any]],
    generated_at: datetime,
    generated_by: str,
    child: str | None = None,
) -> bytes:
    """A landscape A4 table; core fonts only (latin-1), so anything else is shown as '?'. `child` names the
    child under the title (e.g. "Amara Okafor, NHS number 943 476 5870") when the caller knows it."""
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(f"Disclosure report {child_id}")
    pdf.set_author("OneStory hub")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, _latin1(f"Disclosure report for child {child_id}"), new_x="LMARGIN", new_y="NEXT")
    if child:
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, _latin1(child), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(
        0,
        6,
        _latin1(
            f"Generated {generated_at.isoformat(timespec='seconds')} by {generated_by}. "
            f"{len(items)} access record(s). Metadata only: entry ids and the level shown."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    widths = (32, 30, 22, 26, 40, 20, 16, 60, 31)
    pdf.set_font("Helvetica", "", 7)
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=4) as table:
        header = table.row()
        for heading in REPORT_COLUMNS:
            header.cell(heading)
        for item in items:
            row = table.row()
            for value in _report_row(item):
                row.cell(_latin1(value))
    return bytes(pdf.output())
