"""FHIR letters and outcome measures: DocumentReference → letter.received; Observation and QuestionnaireResponse
naming an outcome measure (connectors/value_sets.yaml outcome_measures) → a scored assessment. Pure.

General results are out of scope (OutOfScope, 422): a DiagnosticReport, an Observation of category laboratory,
and an Observation that a DiagnosticReport in the same request lists as one of its results.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Any

from connectors.errors import OutOfScope
from connectors.fhir import fields as f
from connectors.value_sets import Measure, bundled, outcome_measure

Mapped = tuple[str, str, str, dict[str, Any], str, Any, dict[str, str]]
LAB_CATEGORY = "laboratory"
GENERAL_RESULTS = (
    "general results (laboratory, imaging and other tests) stay in the system that produced them: "
    "Observations are taken for outcome measures (SDQ, RCADS, ORS, CORS, GBO, HoNOSCA, PHQ-9, GAD-7), "
    "THRIVE groupings, competence and other findings"
)
_TEXT_TYPES = ("text/plain",)


OUT_OF_SCOPE_TYPES = frozenset({"DiagnosticReport"})


def report_results(resources: Iterable[tuple[dict[str, Any], str | None]]) -> set[str]:
    """References (as written) to the Observations that DiagnosticReports in the request list as results."""
    out: set[str] = set()
    for resource, _ in resources:
        if resource.get("resourceType") == "DiagnosticReport":
            out |= {str(ref.get("reference")) for ref in resource.get("result") or [] if ref.get("reference")}
    return out


def general_result(r: dict[str, Any], path: str, full_url: str | None, results: set[str]) -> OutOfScope | None:
    """Why this resource is a general result the hub does not take (None if it is not one): a DiagnosticReport,
    an Observation of category laboratory, or one a DiagnosticReport in the request lists as its result."""
    rtype = r.get("resourceType")
    if rtype in OUT_OF_SCOPE_TYPES:
        return OutOfScope(f"a {rtype} is not taken by this hub: {GENERAL_RESULTS}", f"{path}.resourceType")
    if rtype != "Observation":
        return None
    categories = {c for concept in r.get("category") or [] for c in f.codes(concept)}
    if LAB_CATEGORY in categories:
        return OutOfScope(f"a laboratory Observation is not taken by this hub: {GENERAL_RESULTS}", f"{path}.category")
    if {full_url, f"Observation/{r.get('id')}"} & results:
        return OutOfScope(
            f"this Observation is a result of a DiagnosticReport and is not taken by this hub: {GENERAL_RESULTS}", path
        )
    return None


def measure_of(r: dict[str, Any]) -> Measure | None:
    concept = r.get("code") or {}
    codings = [(c.get("system") or "", c.get("code") or "") for c in concept.get("coding") or []]
    if r.get("questionnaire"):
        codings.append(("", str(r["questionnaire"])))
    return outcome_measure(codings)


def measure_labels(measure: str | None) -> tuple[str, ...]:
    """The labels value_sets.yaml gives a measure's entries (PSY for the mental health measures)."""
    return next((m.labels for m in bundled().measures if m.id == measure), ()) if measure else ()


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _answers(items: list[dict[str, Any]]) -> Iterable[tuple[str, Any]]:
    for item in items or []:
        for answer in item.get("answer") or []:
            for key in ("valueDecimal", "valueInteger", "valueString"):
                if key in answer:
                    yield str(item.get("text") or item.get("linkId")), answer[key]
            yield from _answers(answer.get("item") or [])
        yield from _answers(item.get("item") or [])


def scored(r: dict[str, Any], measure: Measure, kind_of: str) -> Mapped:
    """The measure's headline score and subscales: an Observation's value and components, or a
    QuestionnaireResponse's numeric answers (the one named "total", else the first)."""
    scores: dict[str, str] = {}
    headline: tuple[str, float | None] | None = None
    if r["resourceType"] == "Observation":
        value = r.get("valueQuantity", {}).get("value", r.get("valueInteger"))
        if value is not None:
            headline = (str(value), _number(value))
        for comp in r.get("component") or []:
            cval = (comp.get("valueQuantity") or {}).get("value", comp.get("valueInteger"))
            if cval is not None:
                scores[f.display(comp.get("code")) or (comp.get("code") or {}).get("text") or "score"] = str(cval)
    else:
        for name, value in _answers(r.get("item") or []):
            scores[name] = str(value)
            if _number(value) is not None and (headline is None or "total" in name.lower()):
                headline = (str(value), _number(value))
    when = r.get("effectiveDateTime") or r.get("authored") or (r.get("effectivePeriod") or {}).get("start")
    respondent = None
    for ref in [r.get("author"), r.get("source"), *(r.get("performer") or [])]:
        kind = str((ref or {}).get("reference") or "").split("/", 1)[0]
        respondent = respondent or {"Patient": "self", "RelatedPerson": "parent", "Practitioner": "clinician"}.get(kind)
    payload: dict[str, Any] = {
        "assessment_id": str(r["id"]) if r.get("id") is not None else None,
        "assessment_type": "outcome-measure",
        "tool": measure.name,
        "code": measure.id,
        "outcome": None,
        "score": headline[0] if headline else None,
        "completed_at": f.fhir_datetime(when),
        "measure": measure.id,
        "score_value": headline[1] if headline else None,
        "higher_is_better": measure.higher_is_better,
        "respondent": respondent,
        "scores": scores,
    }
    return (
        "assessment.completed",
        "assessment",
        "Assessment",
        payload,
        f"Outcome measure: {measure.name}",
        payload["completed_at"],
        {},
    )


def document(r: dict[str, Any]) -> Mapped:
    """A DocumentReference: the letter's text when an attachment is text/plain data, the rest described."""
    status = "entered-in-error" if r.get("status") == "entered-in-error" else (r.get("docStatus") or "final")
    texts: list[str] = []
    held: list[str] = []
    for i, content in enumerate(r.get("content") or []):
        att = content.get("attachment") or {}
        kind = str(att.get("contentType") or "").split(";", 1)[0].strip().lower()
        if kind in _TEXT_TYPES and att.get("data"):
            try:
                texts.append(base64.b64decode(att["data"], validate=True).decode("utf-8"))
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise OutOfScope(
                    "the text attachment is not base64 UTF-8 text", f"DocumentReference.content[{i}].attachment.data"
                ) from exc
        else:
            held.append(f"{kind or 'attachment'}: {att.get('title') or 'document'} (held at source)")
    ident = f.first(r.get("identifier")) or {}
    doc_id = (r.get("masterIdentifier") or {}).get("value") or ident.get("value") or r.get("id")
    concept = r.get("type") or {}
    title = r.get("description") or f.display(concept) or concept.get("text") or "Letter"
    author = f.first(r.get("author")) or {}
    setting = (r.get("context") or {}).get("practiceSetting")
    payload: dict[str, Any] = {
        "document_id": str(doc_id) if doc_id is not None else None,
        "document_type": f.code(concept),
        "title": title,
        "status": status,
        "author": author.get("display"),
        "service": f.display(setting) or (setting or {}).get("text"),
        "authored_at": f.fhir_datetime(r.get("date")),
        "text": "\n".join(texts) if texts else None,
        "attachments": held,
    }
    corr = {"document": payload["document_id"]} if payload["document_id"] else {}
    return ("letter.received", "mental-health", "Document", payload, str(title), payload["authored_at"], corr)
