"""Searchset Bundles with `self` and `next` links carrying the opaque cursor."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode


def searchset(
    base: str,
    path: str,
    resources: list[dict[str, Any]],
    total: int,
    self_params: dict[str, str],
    next_cursor: str | None,
) -> dict[str, Any]:
    links = [{"relation": "self", "url": _url(base, path, self_params)}]
    if next_cursor is not None:
        links.append({"relation": "next", "url": _url(base, path, {"_cursor": next_cursor})})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in resources
        ],
    }


def _url(base: str, path: str, params: dict[str, str]) -> str:
    query = urlencode(sorted(params.items()))
    return f"{base}/{path}" + (f"?{query}" if query else "")
