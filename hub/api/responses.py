"""JSON responses encoded with orjson: a 500-entry timeline encodes several times faster than with json."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    """Same contract as JSONResponse (the body is already JSON-ready: strings, numbers, lists, dicts)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)  # as json.dumps does
