"""Who gets what: the pure diff between what a recipient may see now and what it was sent before.

A recipient (an organisation's feed, or one FHIR subscription) holds at most one version of each entry.
Comparing the level the consent engine allows now with the level last sent gives the only records worth
sending: a disclosure when the level is new or changed, a retraction when it fell to none (consent
withdrawn, relationship ended, entry entered in error or moved by a merge). Nothing else is ever sent, so
redelivered events produce nothing, and nothing goes above the level decided now.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from consent_engine import Decision, Level

RETRACTED = "retracted"
HELD = frozenset({Level.FULL.value, Level.SUMMARY.value, Level.FLAG.value})


@dataclass(frozen=True)
class Visible:
    """What the recipient may see of one entry now: the decision and the entry shaped for its level."""

    decision: Decision
    content: dict[str, Any] | None


@dataclass(frozen=True)
class Sent:
    level: str
    record_id: str


@dataclass(frozen=True)
class Op:
    op: str  # disclose | retract
    entry_id: str
    level: str
    record_id: str
    content: dict[str, Any] | None = None
    decision: Decision | None = None
    reason: str | None = None


def next_record_id(recipient: str, entry_id: str, previous: str | None, op: str, level: str) -> str:
    """Chained from the previous record of the entry, so every change has a new id and a resend the same id."""
    seed = f"{recipient}|{entry_id}|{previous or '-'}|{op}|{level}"
    return hashlib.sha256(seed.encode()).hexdigest()[:40]


def plan(
    recipient: str,
    visible: Mapping[str, Visible],
    sent: Mapping[str, Sent],
    candidates: Iterable[str] | None = None,
    existing: frozenset[str] | None = None,
) -> list[Op]:
    """The records to send, in entry id order.

    `visible` holds the current decision for every entry the recipient could be told about (entries at NONE
    may be present or absent); `sent` what it holds. `candidates` limits which entries are considered for a
    new disclosure (retractions of held entries are always considered); `existing` names the entries still
    in the child's record, to tell a withdrawn entry from a narrowed permission.
    """
    consider = set(visible) if candidates is None else set(candidates) & set(visible)
    held = {entry_id for entry_id, s in sent.items() if s.level in HELD}
    ops: list[Op] = []
    for entry_id in sorted(consider | held):
        now = visible.get(entry_id)
        level = now.decision.level if now else Level.NONE
        before = sent.get(entry_id)
        previous_id = before.record_id if before else None
        if level is not Level.NONE:
            if before is not None and before.level == level.value:
                continue
            ops.append(
                Op(
                    "disclose",
                    entry_id,
                    level.value,
                    next_record_id(recipient, entry_id, previous_id, "disclose", level.value),
                    now.content if now else None,
                    now.decision if now else None,
                )
            )
        elif entry_id in held:
            gone = existing is not None and entry_id not in existing
            ops.append(
                Op(
                    "retract",
                    entry_id,
                    Level.NONE.value,
                    next_record_id(recipient, entry_id, previous_id, "retract", Level.NONE.value),
                    reason="entry-withdrawn" if gone else "no-longer-permitted",
                    decision=now.decision if now else None,
                )
            )
    return ops


def audit_entries(ops: Iterable[Op]) -> list[dict[str, str]]:
    """The audit record's entries: what was sent at which level (a retraction is recorded at none)."""
    return [{"id": op.entry_id, "level": op.level} for op in ops]
