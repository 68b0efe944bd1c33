"""Consent and competence as rows (school MIS CSV/JSON, social-care and VCSE JSON) → canonical events. Pure.

The same fields in every row-oriented format; names are matched case- and punctuation-insensitively, so a CSV
column `Consent ID` and a JSON field `consent_id` are the same field.

A consent row becomes `consent.given|refused|withdrawn` (payload `Consent`): who gave it (the young person or
a person with parental responsibility), whom it lets (or forbids) be told, about what and for what. A *given*
consent must name its scope, because an unscoped consent would open nothing and the source would never know;
an unscoped refusal or withdrawal applies to everything (fail closed). Competence is not a consent field: it is
its own row, `competence.assessed` (payload `Competence`), which the consent engine applies to the young
person's own decisions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.canonical import CATEGORIES, EventSpec, basis, consent_event, consent_payload, policy_terms
from connectors.tabular import Row, RowError
from hub.events.model import SharingBasis, Subject

STATUSES = ("given", "refused", "withdrawn")
GIVEN_BY = ("young-person", "parental-responsibility")
OUTCOMES = {"competent": "competent", "not-competent": "not_competent"}
FRAMEWORKS = ("gillick", "fraser")
ANY = "*"


def _choice(row: Row, names: tuple[str, ...], allowed: tuple[str, ...], what: str) -> str:
    value = "-".join(row.need(*names).lower().replace("_", " ").split())
    if value not in allowed:
        raise RowError(f"{what} must be {' or '.join(allowed)}", row.at(names[0]))
    return value


def _checked(row: Row, names: tuple[str, ...], known: frozenset[str], what: str) -> list[str]:
    values = row.strings(*names)
    unknown = [v for v in values if v != ANY and v not in known]
    if unknown:
        raise RowError(
            f"unknown {what} {unknown[0][:40]!r} (use {', '.join(sorted(known))}, or * for all)", row.at(names[0])
        )
    return values


def consent_spec(
    row: Row, subject: Subject, organisation: str, now: datetime, sharing: SharingBasis | None = None
) -> EventSpec:
    """One consent row → a consent event. `organisation` is the source that recorded it (`recorded_by`)."""
    consent_id = row.need("Consent ID", "Consent Id")
    status = _choice(row, ("Status",), STATUSES, "status")
    given_by = _choice(row, ("Given By",), GIVEN_BY, "given by")
    terms = policy_terms()
    types = _checked(
        row, ("Recipient Types", "Recipient Organisation Types"), terms.organisation_types, "organisation type"
    )
    organisations = row.strings("Recipient Organisations")
    categories = _checked(row, ("Categories",), CATEGORIES, "category")
    purposes = _checked(row, ("Purposes",), terms.purposes, "purpose")
    recorded = row.moment("Recorded On", "Date", required=True)
    assert recorded is not None
    start = row.moment("Valid From") or recorded
    end = row.moment("Valid Until")
    if end is not None and end <= start:
        raise RowError("the consent ends before it starts", row.at("Valid Until"))
    withdraws = row.get("Withdraws")
    if withdraws and status != "withdrawn":
        raise RowError("only a withdrawal names the consent it withdraws", row.at("Withdraws"))
    if status == "given":
        if not types and not organisations:
            raise RowError(
                "a consent given must name who may be told (Recipient Types or Recipient Organisations)",
                row.at("Recipient Types"),
            )
        if not categories:
            raise RowError("a consent given must name the categories it covers (or * for all)", row.at("Categories"))
        if not purposes:
            raise RowError("a consent given must name its purposes (e.g. direct-care)", row.at("Purposes"))
    payload = consent_payload(
        consent_id,
        status,
        given_by,
        organisation,
        organisations=organisations,
        organisation_types=types,
        categories=categories,
        purposes=purposes,
        start=start,
        end=end,
        withdraws=withdraws,
    )
    who = "the young person" if given_by == "young-person" else "a person with parental responsibility"
    return consent_event(
        payload,
        record_id=f"consent|{consent_id}|{status}",
        subject=subject,
        occurred_at=recorded,
        recorded_at=now,
        summary=f"Consent {status} by {who}",
        sharing=sharing,
    )


def competence_spec(row: Row, subject: Subject, now: datetime, sharing: SharingBasis | None = None) -> EventSpec:
    """One competence row → `competence.assessed`: who assessed, when, for which decision, and the outcome."""
    assessment_id = row.need("Assessment ID", "Assessment Id")
    outcome = OUTCOMES[_choice(row, ("Outcome",), tuple(OUTCOMES), "outcome")]
    decision = "-".join(row.need("Decision").lower().split())
    framework = (row.get("Framework") or "gillick").lower()
    if framework not in FRAMEWORKS:
        raise RowError("framework must be gillick or fraser", row.at("Framework"))
    assessor = row.need("Assessed By")
    role = row.get("Assessed By Role")
    assessed = row.moment("Assessed On", "Date", required=True)
    assert assessed is not None
    payload: dict[str, Any] = {
        "assessment_id": assessment_id,
        "outcome": outcome,
        "decision": decision,
        "categories": _checked(row, ("Categories",), CATEGORIES, "category"),
        "assessed_by": f"{role} {assessor}" if role else assessor,
        "assessed_at": assessed,
        "framework": framework,
    }
    words = "competent" if outcome == "competent" else "not competent"
    return EventSpec(
        kind="competence.assessed",
        category="consent",
        record_id=f"competence|{assessment_id}",
        subject=subject,
        occurred_at=assessed,
        recorded_at=now,
        summary=f"Assessed as {words} to decide about {decision.replace('-', ' ')} ({framework.capitalize()})",
        payload_type="Competence",
        payload=payload,
        sharing_basis=sharing or basis("none"),
        correlation_ids={"competence": assessment_id},
    )
