"""JSON responses encoded with orjson: a 500-entry timeline encodes several times faster than with json."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

from hub.read.story import EncodedList


class FastJSONResponse(JSONResponse):
    """Same contract as JSONResponse (the body is already JSON-ready: strings, numbers, lists, dicts)."""

    def render(self, content: Any) -> bytes:
        if isinstance(content, dict):  # lists of the body whose JSON is already encoded go in as it is
            content = {k: _encoded(v) for k, v in content.items()}
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)  # as json.dumps does


def _encoded(value: Any) -> Any:
    encoded = value.encoded if isinstance(value, EncodedList) else None
    return value if encoded is None else encoded
