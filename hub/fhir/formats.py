"""Content negotiation for /fhir: this server speaks JSON only; asking for anything else is 406. Pure.

`_format` wins over `Accept` (FHIR R4 http.html#mime-type). A client that accepts JSON among other types, or
anything (`*/*`), gets JSON; one that asks only for XML (`application/fhir+xml`, `_format=xml`) or another
type gets 406 with an OperationOutcome (in JSON: the one representation the server has), rather than a 200
in a format it did not ask for.
"""

from __future__ import annotations

JSON_TYPES = frozenset({"application/fhir+json", "application/json", "application/json+fhir"})
_FORMAT_ALIASES = frozenset({"json", *JSON_TYPES})
_WILDCARDS = frozenset({"*/*", "application/*"})


def _media(value: str) -> tuple[str, float]:
    parts = [p.strip() for p in value.split(";")]
    quality = 1.0
    for param in parts[1:]:
        key, _, number = param.partition("=")
        if key.strip().lower() == "q":
            try:
                quality = float(number)
            except ValueError:
                quality = 0.0
    return parts[0].lower(), quality


def refusal(format_param: str | None, accept: str | None) -> str | None:
    """None if JSON may be sent; else why not, for the 406's OperationOutcome."""
    if format_param is not None:
        media = _media(format_param.replace(" ", "+"))[0]  # an unencoded + in a query string arrives as a space
        return None if media in _FORMAT_ALIASES else f"_format={media} is not supported: this server serves JSON only"
    if not accept or not accept.strip():
        return None
    for item in accept.split(","):
        media, quality = _media(item)
        if quality > 0 and (media in JSON_TYPES or media in _WILDCARDS):
            return None
    return "the Accept header names no type this server serves: it serves application/fhir+json only"
