"""How large an HL7 v2 message and each of its fields may be. Pure.

Real messages are a few kilobytes (the public samples are under 6 KB); the hub takes demographics,
encounters, appointments and referrals, never embedded documents. A message over the limit, or with one
field over the field limit (a 5 MB PID-5), would otherwise fail late, where the broker refuses the event,
and leave its sender retrying forever. Checked first, on the raw bytes, so the rejection (AR with an ERR
naming the limit, the message dead-lettered) is cheap and says which limit. Reasons name sizes and field
positions only, never content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from connectors.errors import ConnectorError

VALUE_TOO_LONG = ("104", "Value too long")
"""HL7 table 0357 condition code for ERR-3."""
_SEGMENT_NAME = re.compile(rb"[A-Z][A-Z0-9]{2}")
_SEGMENT_BREAK = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


class LimitError(ConnectorError):
    """The message or one of its fields is larger than the hub takes (HL7 AR; the message is dead-lettered)."""

    phase = "limit"


@dataclass(frozen=True)
class Hl7Limits:
    max_message_bytes: int = 2 * 1024 * 1024
    max_field_bytes: int = 64 * 1024

    @property
    def frame_cap(self) -> int:
        """Past this the MLLP listener stops buffering a frame (4x the message limit): it is answered unread."""
        return 4 * self.max_message_bytes

    def message_too_large(self, size: int) -> LimitError:
        return LimitError(
            f"the message is {size:,} bytes, over the hub's limit of {self.max_message_bytes:,} bytes "
            "for one HL7 message (setting hl7_max_message_bytes)"
        )


def check_limits(raw: bytes, limits: Hl7Limits) -> None:
    """Raise LimitError naming the limit (and the field, by position) if `raw` is over either limit."""
    if len(raw) > limits.max_message_bytes:
        raise limits.message_too_large(len(raw))
    if len(raw) <= limits.max_field_bytes:
        return
    text = raw.removeprefix(_BOM)
    separator = text[3:4] if text.startswith(b"MSH") and len(text) > 3 else b"|"
    for number, segment in enumerate(_SEGMENT_BREAK.split(text), start=1):
        if len(segment) <= limits.max_field_bytes:
            continue  # no field of a segment can be longer than the segment
        name = segment[:3].decode("ascii") if _SEGMENT_NAME.fullmatch(segment[:3]) else None
        for index, field in enumerate(segment.split(separator)):
            if len(field) > limits.max_field_bytes:
                where = _position(name, number, index)
                raise LimitError(
                    f"the field is {len(field):,} bytes, over the hub's limit of {limits.max_field_bytes:,} bytes "
                    "for one HL7 field (setting hl7_max_field_bytes)",
                    where,
                )


def _position(name: str | None, number: int, index: int) -> str:
    """PID-5 style; MSH-1 is the separator itself, so MSH fields are one ahead of the split index."""
    if name is None or index == 0:
        return f"segment {number}"
    return f"{name}-{index + 1 if name == 'MSH' else index}"
