"""JSON bytes → validated FHIR R4 resources (fhir.resources R4B models), with FHIRPath-style error locations. Pure.

Mapping reads the validated JSON as plain dicts: the model proves the shape, the dict keeps the code short.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from connectors.errors import MappingError, ParseError

ACCEPTED_BUNDLE_TYPES = ("transaction", "collection", "message", "batch")


class InvalidResource(ParseError):
    """Invalid R4: carries every failing element path, not just the first, so the sender can fix all at once."""

    def __init__(self, issues: list[tuple[str, str]]) -> None:
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(f"{issues[0][1]}{more}", issues[0][0])
        self.issues = issues


@dataclass(frozen=True)
class Entry:
    """One resource to map, where it sits in the request (for error paths) and its bundle fullUrl."""

    path: str
    resource: dict[str, Any]
    full_url: str | None


def element_path(root: str, loc: tuple[int | str, ...]) -> str:
    """pydantic loc ('entry', 2, 'resource', 'performer') → Bundle.entry[2].resource.performer."""
    out = root
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def load_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"not JSON: {type(exc).__name__} at position {getattr(exc, 'pos', '?')}", "$") from exc
    if not isinstance(data, dict):
        raise ParseError("the body must be a JSON object (a FHIR resource)", "$")
    return data


def validate(data: dict[str, Any]) -> str:
    """Validate against the R4B model of its resourceType; returns the resourceType."""
    rtype = data.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise ParseError("no resourceType", "resourceType")
    try:
        model = get_fhir_model_class(rtype)
    except (KeyError, ValueError) as exc:
        raise ParseError(f"unknown FHIR resourceType {rtype!r}", "resourceType") from exc
    try:
        model.model_validate(data)
    except ValidationError as exc:
        issues = [(element_path(rtype, tuple(e["loc"])), f"invalid R4: {str(e['msg'])[:200]}") for e in exc.errors()]
        raise InvalidResource(issues) from exc
    except (TypeError, ValueError) as exc:
        raise ParseError(f"invalid R4: {type(exc).__name__}", rtype) from exc
    return rtype


def entries(body: bytes) -> tuple[str, list[Entry]]:
    """The resources in the request: the resource itself, or a Bundle's entries in order."""
    data = load_json(body)
    rtype = validate(data)
    if rtype != "Bundle":
        return rtype, [Entry(rtype, data, None)]
    btype = data.get("type")
    if btype not in ACCEPTED_BUNDLE_TYPES:
        raise MappingError(
            f"Bundle.type {btype!r} is not taken (send one of {', '.join(ACCEPTED_BUNDLE_TYPES)})", "Bundle.type"
        )
    found = [
        Entry(f"Bundle.entry[{i}].resource", e["resource"], e.get("fullUrl"))
        for i, e in enumerate(data.get("entry") or [])
        if isinstance(e.get("resource"), dict)
    ]
    if not found:
        raise MappingError("the Bundle has no resources", "Bundle.entry")
    return rtype, found
