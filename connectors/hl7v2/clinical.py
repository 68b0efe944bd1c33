"""Clinical readers: letters (MDM^T01/T02), outcome measures (ORU^R01) and referral orders (ORM^O01). Pure.

Each returns (payload fields, correlation ids, occurred-at hint), like payloads.py, from the message, its rule in
mapping.yaml and the `clinical` tables there. What is out of scope for the story (general results, orders that
are not referrals) raises OutOfScope with the reason the sender reads in its AR.
"""

from __future__ import annotations

from typing import Any

from connectors.errors import MappingError, OutOfScope
from connectors.hl7v2.parse import Hl7Message, Segment
from connectors.hl7v2.payloads import Read, parse_ts
from connectors.value_sets import Measure, bundled, outcome_measure

TEXT_TYPES = frozenset({"TX", "FT", "ST", "CF"})
"""OBX-2 value types whose OBX-5 is document text; ED and RP (attachments, references) are described, not kept."""
_RESPONDENTS = (("parent", "parent"), ("carer", "parent"), ("teacher", "teacher"), ("self", "self"))
_WITHDRAWN = frozenset({"D", "W", "X"})  # OBX-11: deleted, wrong (withdrawn), cannot be obtained


def _text(seg: Segment, number: int) -> str:
    """A text field whole: its repetitions as lines, components joined back with the sender's component mark."""
    mark = seg.delimiters.component
    return "\n".join(mark.join(rep).rstrip(mark) for rep in seg.repetitions(number)).strip()


def _person(seg: Segment | None, number: int) -> str | None:
    """An XCN as a practitioner's name ("given family"), else their code."""
    if seg is None:
        return None
    family, given = seg.value(number, 2), seg.value(number, 3)
    name = " ".join(p for p in (given, family) if p)
    return name or seg.value(number, 1)


def letter(message: Hl7Message, rule: dict[str, Any], tables: dict[str, Any]) -> Read:
    txa = message.first("TXA")
    if txa is None:
        raise MappingError(f"{message.header.message_type} without a TXA segment (document header)", "TXA")
    doc_type = txa.value(2, 1)
    title = txa.value(2, 2) or (tables.get("document_types") or {}).get(doc_type or "")
    obr = message.first("OBR")
    if not title and obr is not None:
        title = obr.value(4, 2) or obr.value(4, 5)
    completion = (txa.value(17) or "").upper()
    availability = (txa.value(19) or "").upper()
    if availability in (tables.get("cancelled_availability") or ()):
        status = "entered-in-error"
    elif not completion or completion in (tables.get("final_statuses") or ()):
        status = "final"
    else:
        status = "preliminary"
    lines: list[str] = []
    attachments: list[str] = []
    if rule.get("content", True):
        for obx in message.all("OBX"):
            kind = (obx.value(2) or "").upper()
            if kind in TEXT_TYPES:
                value = _text(obx, 5)
                if value:
                    lines.append(value)
            elif kind in ("ED", "RP"):
                subtype = obx.value(5, 3) or obx.value(5, 2) or kind
                what = obx.value(3, 2) or obx.value(3, 1) or "attachment"
                attachments.append(f"{subtype}: {what} (held at source)")
    pv1 = message.first("PV1")
    authored = parse_ts(txa.value(4), "TXA-4") or parse_ts(txa.value(6), "TXA-6") or parse_ts(txa.value(7), "TXA-7")
    document_id = txa.value(12) or txa.value(13) or message.header.control_id
    fields = {
        "document_id": document_id,
        "document_type": doc_type,
        "title": title,
        "status": status,
        "author": _person(txa, 9) or _person(txa, 5),
        "service": pv1.value(10) if pv1 else None,
        "authored_at": authored,
        "text": "\n".join(lines) if lines else None,
        "attachments": attachments,
    }
    return fields, {"document": document_id}, authored


def document_codes(message: Hl7Message) -> list[tuple[str, str]]:
    """TXA-2 as a (system, code) the value sets read (table 0270 markers: psychiatric document types)."""
    txa = message.first("TXA")
    code = txa.value(2, 1) if txa else None
    return [("http://terminology.hl7.org/CodeSystem/v2-0270", code)] if code else []


def _codings(seg: Segment | None, number: int) -> list[tuple[str, str]]:
    if seg is None:
        return []
    out = []
    for code_at, system_at in ((1, 3), (4, 6)):  # CWE identifier and alternate identifier
        code = seg.value(number, code_at)
        if code:
            out.append((seg.value(number, system_at) or "", code))
    return out


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _respondent(words: str) -> str | None:
    lowered = words.lower()
    return next((who for word, who in _RESPONDENTS if word in lowered), None)


def outcome(message: Hl7Message, rule: dict[str, Any], tables: dict[str, Any]) -> Read:
    """ORU^R01 → the outcome measure its results are (one measure per message: the first one found)."""
    measure: Measure | None = None
    scores: dict[str, str] = {}
    headline: tuple[str, float | None, str] | None = None
    order: Segment | None = None
    current_obr: Segment | None = None
    seen_codes: list[str] = []
    for seg in message.segments:
        if seg.name == "OBR":
            current_obr = seg
            continue
        if seg.name != "OBX" or (seg.value(11) or "").upper() in _WITHDRAWN:
            continue
        codings = _codings(seg, 3)
        seen_codes += [c for _, c in codings[:1] if c]
        found = outcome_measure(codings + _codings(current_obr, 4))
        if found is None or (measure is not None and found.id != measure.id):
            continue
        measure, order = found, order or current_obr
        value = seg.value(5, 2) if (seg.value(2) or "").upper() in ("CE", "CWE", "CNE") else seg.value(5, 1)
        if value is None:
            continue
        name = seg.value(3, 2) or seg.value(3, 1) or f"score {len(scores) + 1}"
        scores[name] = value
        if headline is None or (headline[1] is None and _number(value) is not None):
            headline = (value, _number(value), name)
    if measure is None:
        distinct = list(dict.fromkeys(seen_codes))
        codes = ", ".join(distinct[:4]) + (f" and {len(distinct) - 4} more" if len(distinct) > 4 else "")
        raise OutOfScope(f"{_scope_reason(rule, tables)} (OBX-3 codes here: {codes or 'none'})", "OBX-3")
    if headline is None:
        raise MappingError(f"the {measure.name} result has no score (OBX-5 is empty)", "OBX-5")
    obx_time = next((s.value(14) for s in message.all("OBX") if s.value(14)), None)
    completed = parse_ts(obx_time, "OBX-14") or (parse_ts(order.value(7), "OBR-7") if order else None)
    assessment_id = (order.value(3) or order.value(2)) if order else None
    words = " ".join(filter(None, [order.value(4, 2) if order else None, headline[2]]))
    fields = {
        "assessment_id": assessment_id or message.header.control_id,
        "assessment_type": "outcome-measure",
        "tool": measure.name,
        "code": measure.id,
        "outcome": None,
        "score": headline[0],
        "completed_at": completed,
        "measure": measure.id,
        "score_value": headline[1],
        "higher_is_better": measure.higher_is_better,
        "respondent": _respondent(words),
        "scores": scores,
    }
    return fields, {"assessment": str(fields["assessment_id"])}, completed


def measure_labels(fields: dict[str, Any]) -> tuple[str, ...]:
    found = next((m for m in bundled().measures if m.id == fields.get("measure")), None)
    return found.labels if found else ()


def _scope_reason(rule: dict[str, Any], tables: dict[str, Any]) -> str:
    """The message type's `out_of_scope` reason from mapping.yaml (map.py puts it on the rule it passes)."""
    why = rule.get("out_of_scope") or "it is out of scope for the story"
    return f"this {rule.get('what', 'message')} is not taken by this hub: {why}"


def order_referral(message: Hl7Message, rule: dict[str, Any], tables: dict[str, Any]) -> Read:
    """ORM^O01 → a referral, when it is a new order (ORC-1 NW) for a referral service (OBR-4)."""
    orc, obr = message.first("ORC"), message.first("OBR")
    wanted = {(bundled().canonical(str(s)), str(c).upper()) for s, c in tables.get("order_referrals") or ()}
    codings = [(bundled().canonical(s), c.upper()) for s, c in _codings(obr, 4)]
    control = (orc.value(1) if orc else None) or ""
    if not any(c in wanted for c in codings) or control.upper() != "NW":
        service = obr.value(4, 1) if obr else None
        raise OutOfScope(
            f"{_scope_reason(rule, tables)} (OBR-4 {service or 'empty'}, ORC-1 {control or 'empty'})", "OBR-4"
        )
    referral_id = (orc.value(2) if orc else None) or (obr.value(2) if obr else None)
    if not referral_id:
        raise MappingError("no referral identifier (ORC-2 or OBR-2 placer order number)", "ORC-2")
    assert obr is not None  # codings came from it
    fields = {
        "referral_id": referral_id,
        "status": rule.get("status") or "made",
        "from_organisation": None,
        "to_organisation": None,
        "to_service": obr.value(4, 2) or obr.value(4, 1),
        "reason": obr.value(31, 2) or obr.value(31, 1),
        "urgency": obr.value(27, 6) or (orc.value(7, 6) if orc else None),
        "redirected_to": None,
        "decline_reason": None,
    }
    return fields, {"referral": referral_id}, parse_ts(orc.value(9) if orc else None, "ORC-9")
