"""Intake limits: body size, JSON nesting depth and string length, checked before any parser sees the body. Pure.

Why before: `json.loads` recurses once per nesting level in C and raises RecursionError (an HTTP 500) on a
2,000-byte body of 1,000 nested arrays, and a 5 MB string becomes a 5 MB event the broker refuses. So the
nesting and the strings are measured here without recursion and without building any Python objects, and
what is over a limit is answered 413 / 422 naming the limit and the ONESTORY_* variable that sets it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# A JSON string as sent: the quotes, and any run of plain bytes or backslash escapes between them.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


@dataclass(frozen=True)
class IntakeLimits:
    """The limits of one API instance (from HubSettings; the defaults are HubSettings' defaults)."""

    max_body_bytes: int = 10 * 1024 * 1024
    self_referral_max_body_bytes: int = 256 * 1024
    max_json_depth: int = 64
    max_string_bytes: int = 1024 * 1024

    @classmethod
    def from_settings(cls, settings: Any) -> IntakeLimits:
        """HubSettings, or None (an API built without settings, e.g. in tests): the defaults."""
        if settings is None:
            return cls()
        return cls(
            max_body_bytes=settings.intake_max_body_bytes,
            self_referral_max_body_bytes=settings.self_referral_max_body_bytes,
            max_json_depth=settings.intake_max_json_depth,
            max_string_bytes=settings.intake_max_string_bytes,
        )


@dataclass(frozen=True)
class Breach:
    """One limit exceeded: the HTTP status, what the sender is told, and the dead letter's reason.

    `detail` names the limit and its setting and never quotes the input (it may hold personal data).
    """

    status: int
    limit: str
    setting: str
    detail: str
    reason: str


def size_text(n: int) -> str:
    """Bytes as an operator reads them: 10 MB, 256 KB, 1,234 bytes."""
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n:,} bytes"


def body_breach(limit: int, setting: str, seen: int, declared: int | None, complete: bool, hint: str = "") -> Breach:
    """A body over `limit`: 413. The dead letter's reason gives the true size where it is known.

    seen: bytes read (kept or drained); declared: Content-Length, if sent; complete: the whole body was read;
    hint: what the sender can do, appended to the detail.
    """
    if declared is not None:
        size = f"{declared:,} bytes (Content-Length)"
    elif complete:
        size = f"{seen:,} bytes"
    else:
        size = f"more than {seen:,} bytes (chunked; not read to the end)"
    detail = f"the body is larger than {size_text(limit)}, the limit set by {setting}{hint}"
    reason = f"body size limit: {size} sent, limit {limit:,} bytes ({setting}); only the first {limit:,} bytes kept"
    return Breach(413, "body size", setting, detail, reason)


def json_depth(body: bytes, give_up_above: int) -> int:
    """How deeply arrays and objects nest (strings ignored), counted without recursion; stops past give_up_above.

    Each pass deletes every innermost `[]` (objects count as arrays), so the passes needed are the depth.
    Brackets left unclosed at the end count too: the parser would descend into them before failing.
    """
    brackets = _STRING.sub(b"", body).translate(_SQUARE, _NOT_BRACKET)
    if b"[" * (give_up_above + 1) in brackets:  # the usual attack, found in one pass: a long run of openers
        return give_up_above + 1
    depth = 0
    while b"[]" in brackets:
        if depth > give_up_above:
            return depth
        brackets = brackets.replace(b"[]", b"")
        depth += 1
    return depth + brackets.count(b"[")


def longest_string(body: bytes, at_least: int = 0) -> int:
    """Bytes between the quotes of the longest JSON string, as sent (escapes count as sent).

    Returns 0 early when the strings together are shorter than `at_least`, so the common body costs one regex pass.
    """
    if len(body) - len(_STRING.sub(b"", body)) <= at_least:
        return 0
    return max((m.end() - m.start() - 2 for m in _STRING.finditer(body)), default=0)


def json_breach(body: bytes, limits: IntakeLimits) -> Breach | None:
    """422 if the JSON nests deeper or carries a longer string than the limits allow; None if within them."""
    depth = json_depth(body, limits.max_json_depth)
    if depth > limits.max_json_depth:
        setting = "ONESTORY_INTAKE_MAX_JSON_DEPTH"
        return Breach(
            422,
            "JSON nesting depth",
            setting,
            f"the JSON nests arrays and objects more than {limits.max_json_depth} deep, the limit set by {setting}",
            f"JSON nesting depth limit: more than {limits.max_json_depth} deep ({setting})",
        )
    longest = longest_string(body, at_least=limits.max_string_bytes)
    if longest > limits.max_string_bytes:
        setting = "ONESTORY_INTAKE_MAX_STRING_BYTES"
        return Breach(
            422,
            "JSON string length",
            setting,
            f"a JSON string is {longest:,} bytes long, over {size_text(limits.max_string_bytes)}, the limit set by "
            f"{setting}; send documents by reference (Attachment.url), not inline",
            f"JSON string length limit: {longest:,} bytes, limit {limits.max_string_bytes:,} ({setting})",
        )
    return None
