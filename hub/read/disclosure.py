"""What a viewer may see of one timeline entry. Fail closed.

Walking-skeleton rule, to be replaced by consent_engine.decide once it is wired in: the source organisation
sees its own entries in full; others see an entry only if the source recorded a consent or lawful basis and
they act for direct care or safeguarding; audit purposes see metadata (flag) only; otherwise nothing.
"""

from __future__ import annotations

from typing import Any

from hub.auth.tokens import Principal

LEVELS = ("none", "flag", "summary", "full")


def level_for(viewer: Principal, entry: dict[str, Any]) -> str:
    if entry["source_org"] == viewer.organisation:
        return "full"
    if entry["sharing_basis"].get("kind") not in ("consent", "lawful_basis"):
        return "none"
    if viewer.purpose == "audit":
        return "flag"
    if viewer.purpose in ("direct-care", "safeguarding"):
        return "full"
    return "none"


def disclose(entry: dict[str, Any], level: str) -> dict[str, Any]:
    """Shape an entry for the level: flag says only that something exists and who to contact."""
    base = {
        "id": entry["entry_id"],
        "occurredAt": entry["occurred_at"].isoformat(),
        "source": {"organisation": entry["source_org"], "system": entry["source_system"]},
        "level": level,
    }
    if level == "flag":
        return base | {"category": entry["category"], "note": f"Information held: contact {entry['source_org']}"}
    base |= {"kind": entry["kind"], "category": entry["category"], "summary": entry["summary"]}
    if level == "full":
        base |= {
            "detail": entry["detail"],
            "sensitivityLabels": entry["sensitivity_labels"],
            "sharingBasis": entry["sharing_basis"],
            "correlationIds": entry["correlation_ids"],
        }
    return base
