"""Searchset Bundles with `self` and `next` links carrying the opaque cursor."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson


class EncodedResource(dict[str, Any]):
    """A resource kept between reads (hub.fhir.service) with its JSON encoded once: a bundle splices it in."""

    encoded: orjson.Fragment | None = None

    @classmethod
    def of(cls, resource: dict[str, Any]) -> EncodedResource:
        kept = cls(resource)
        kept.encoded = orjson.Fragment(orjson.dumps(resource, option=orjson.OPT_NON_STR_KEYS))
        return kept


def _body(resource: dict[str, Any]) -> Any:
    encoded = resource.encoded if isinstance(resource, EncodedResource) else None
    return resource if encoded is None else encoded


def searchset(
    base: str,
    path: str,
    resources: list[dict[str, Any]],
    total: int,
    self_params: dict[str, str],
    next_cursor: str | None,
    included: list[dict[str, Any]] | None = None,
    carried: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`resources` are the matches (`total` counts them all, across pages); `included` (from `_include`) are
    served beside them with search mode `include` and are not counted; `carried` parameters go on the `next`
    link beside the cursor (which carries the filters)."""
    links = [{"relation": "self", "url": _url(base, path, self_params)}]
    if next_cursor is not None:
        links.append({"relation": "next", "url": _url(base, path, {"_cursor": next_cursor} | (carried or {}))})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": _body(r), "search": {"mode": mode}}
            for mode, group in (("match", resources), ("include", included or []))
            for r in group
        ],
    }


def count_only(base: str, path: str, total: int, self_params: dict[str, str]) -> dict[str, Any]:
    """`_summary=count`: the total and nothing else."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": "self", "url": _url(base, path, self_params | {"_summary": "count"})}],
    }


def _url(base: str, path: str, params: dict[str, str]) -> str:
    query = urlencode(sorted(params.items()))
    return f"{base}/{path}" + (f"?{query}" if query else "")
