"""Build payload records from the Avro schemas: optional fields default, required ones must be given.

Generators (demo data, synthetic regions, benchmarks, tests) use this so their events always encode with
the real codec, whatever optional fields later schema versions add.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from hub.events.codec import default_schema_dir


@cache
def _fields(record: str, schema_dir: Path | None = None) -> tuple[dict[str, Any], ...]:
    path = (schema_dir or default_schema_dir()) / f"onestory.payload.{record}.avsc"
    return tuple(json.loads(path.read_text())["fields"])


def payload(record: str, **given: Any) -> tuple[str, dict[str, Any]]:
    """(full record name, fields) with null unions → None, arrays → [], maps → {} unless given."""
    fields = _fields(record)
    unknown = set(given) - {f["name"] for f in fields}
    if unknown:
        raise KeyError(f"payload {record} has no field(s) {sorted(unknown)}")
    out: dict[str, Any] = {}
    for f in fields:
        name, ftype = f["name"], f["type"]
        if name in given:
            out[name] = given[name]
        elif "default" in f:
            out[name] = f["default"]
        elif isinstance(ftype, list) and "null" in ftype:
            out[name] = None
        elif isinstance(ftype, dict) and ftype.get("type") in ("array", "map"):
            out[name] = [] if ftype["type"] == "array" else {}
        else:
            raise KeyError(f"payload {record} needs field {name!r}")
    return f"onestory.payload.{record}", out
