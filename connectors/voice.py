"""The child's own words, as a practitioner recorded them: a `voice` record in social care or VCSE JSON. Pure.

Kept as its own kind (voice.recorded, category voice-of-child) so the consent engine can treat a young
person's words differently from what professionals wrote about them.
"""

from __future__ import annotations

from typing import Any

from connectors.tabular import Row

MEDIA = ("said", "wrote", "drew", "chose", "signed", "other")


def voice_payload(row: Row) -> dict[str, Any]:
    """`text` is required (the words themselves); `topic`, `captured_by_role` and `medium` are optional."""
    medium = (row.get("medium") or "said").lower()
    if medium not in MEDIA:
        medium = "other"
    return {
        "voice_id": row.need("id"),
        "topic": row.get("topic"),
        "text": row.need("text"),
        "captured_by_role": row.get("captured_by_role"),
        "medium": medium,
    }
