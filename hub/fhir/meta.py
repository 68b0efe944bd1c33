"""Security labels, provenance and narrative shared by every resource the hub serves.

Every resource says how confidential it is (`meta.security`: a confidentiality code plus the entry's
sensitivity labels), where it came from (`meta.source`: the recording organisation and system) and at which
disclosure level it was served (`meta.tag`), so that a receiving EPR can keep honouring the labels.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from consent_engine.compiled import Organisation

CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DISCLOSURE_TAG = "https://onestory.example.org/fhir/CodeSystem/disclosure-level"
CATEGORY_SYSTEM = "https://onestory.example.org/fhir/CodeSystem/entry-category"
KIND_SYSTEM = "https://onestory.example.org/fhir/CodeSystem/entry-kind"
HUB_SOURCE = "urn:onestory:hub"

_CONFIDENTIALITY_DISPLAY = {"N": "normal", "R": "restricted", "V": "very restricted"}


@dataclass(frozen=True)
class Served:
    """One timeline entry as the viewer may see it: the projected row, its live level and, for a flag, whom
    to contact. `org_name` is the recording organisation's display name from the policy; `organisations` the
    directory (code -> listing) that organisation references are built from."""

    row: dict[str, Any]
    level: str  # full | summary | flag (never none: hidden entries are never handed to the mappers)
    org_name: str
    message: str | None = None
    contact: str | None = None
    organisations: Mapping[str, Organisation] = field(default_factory=dict, compare=False)

    def org_ref(self, code: str | None = None) -> dict[str, Any]:
        """The recording organisation (or `code`) as a reference with its national identifier."""
        code = code or self.row["source_org"]
        return organisation_ref(code, self.organisations, self.org_name if code == self.row["source_org"] else None)


def confidentiality(labels: list[str], level: str) -> str:
    """R when the entry carries sensitivity labels or is only partly shown, else N."""
    return "R" if labels or level != "full" else "N"


def source_uri(org: str, system: str) -> str:
    return f"urn:onestory:source:{quote(org, safe='')}:{quote(system, safe='')}"


def meta_for(labels: list[str], level: str, org: str, system: str, updated: datetime | None) -> dict[str, Any]:
    code = confidentiality(labels, level)
    security = [{"system": CONFIDENTIALITY, "code": code, "display": _CONFIDENTIALITY_DISPLAY[code]}]
    security += [{"system": ACT_CODE, "code": label} for label in sorted(set(labels))]
    meta: dict[str, Any] = {
        "source": source_uri(org, system),
        "security": security,
        "tag": [{"system": DISCLOSURE_TAG, "code": level}],
    }
    if updated is not None:
        meta["lastUpdated"] = updated.isoformat()
    return meta


def narrative(*lines: str) -> dict[str, str]:
    """Generated XHTML narrative (escaped): what a summary-level resource carries instead of its detail."""
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines if line)
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def find_organisation(value: str, organisations: Mapping[str, Organisation]) -> Organisation | None:
    """A directory listing by its code or, as some senders give only that, by its name (case ignored)."""
    if value in organisations:
        return organisations[value]
    folded = value.strip().casefold()
    return next((o for o in organisations.values() if o.name.casefold() == folded), None)


def organisation_ref(value: str, organisations: Mapping[str, Organisation], name: str | None = None) -> dict[str, Any]:
    """A logical reference to an organisation: its code in the code system the directory lists it under (ODS for
    NHS bodies, the DfE URN for schools, the LA code for councils) with its name as display. An organisation the
    directory does not know gets a display only: its value is never dressed up as an identifier."""
    org = find_organisation(value, organisations)
    if org is None or not org.code_system:
        return {"display": name or value}
    return {"identifier": {"system": org.code_system, "value": org.code}, "display": org.name}


def patient_ref(child_id: str) -> dict[str, str]:
    return {"reference": f"Patient/{child_id}"}


def category_concept(category: str) -> dict[str, Any]:
    return {"coding": [{"system": CATEGORY_SYSTEM, "code": category}], "text": category.replace("-", " ")}


def kind_concept(kind: str, text: str | None = None) -> dict[str, Any]:
    return {"coding": [{"system": KIND_SYSTEM, "code": kind}], "text": text or kind.replace(".", " ")}
