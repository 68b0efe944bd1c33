"""What a viewer may see of a child's record, decided live by the consent engine at read time. Fail closed.

The projections precompute decisions per viewer class (for feeds and policy diffs); a read decides again for
the actual viewer at the actual moment, because relationships and consent periods end with time. While a
consent change for the child is accepted but not yet applied, only the viewer's own organisation's entries
are shown and the view says it is updating (DESIGN.md §7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from consent_engine import ConsentRecord, Decision, Level, Policy, Relationship, Viewer, decide
from hub.auth.tokens import Principal
from hub.db.projection_tables import competence_assessments, consent_pending, consent_records, team_members
from hub.disclosure.consent_records import birth_dates, records_of
from hub.disclosure.decisions import aware, decision_key, entry_of, relationships_of


@dataclass(frozen=True)
class ChildContext:
    child_id: str
    consents: tuple[ConsentRecord, ...]
    relationships: tuple[Relationship, ...]
    team: tuple[dict[str, Any], ...]
    updating: bool


def load_context(conn: Connection, child_id: str) -> ChildContext:
    def rows(table: Any) -> list[dict[str, Any]]:
        return [
            {k: aware(v) if isinstance(v, datetime) else v for k, v in r._mapping.items()}
            for r in conn.execute(select(table).where(table.c.child_id == child_id))
        ]

    team = rows(team_members)
    pending = (
        conn.execute(select(consent_pending.c.event_id).where(consent_pending.c.child_id == child_id).limit(1)).scalar()
        is not None
    )
    consents = rows(consent_records)
    facts = (rows(competence_assessments), birth_dates(conn, [child_id])[child_id]) if consents else ((), None)
    return ChildContext(
        child_id,
        tuple(records_of(consents, *facts)),
        tuple(relationships_of(team)),
        tuple(team),
        pending,
    )


def viewer_of(principal: Principal) -> Viewer:
    return Viewer(
        user_id=principal.user, organisation=principal.organisation, role=principal.role, purpose=principal.purpose
    )


def levels_for(
    policy: Policy, ctx: ChildContext, viewer: Viewer, rows: list[dict[str, Any]], now: datetime
) -> list[Decision]:
    """`level_for` of every row, deciding once per distinct `decision_key` (weekly attendance repeats)."""
    seen: dict[tuple[Any, ...], Decision] = {}
    out = []
    for row in rows:
        key = decision_key(row)
        decision = seen.get(key)
        if decision is None:
            decision = seen[key] = level_for(policy, ctx, viewer, row, now)
        out.append(decision)
    return out


def level_for(policy: Policy, ctx: ChildContext, viewer: Viewer, row: dict[str, Any], now: datetime) -> Decision:
    decision = decide(policy, ctx.consents, ctx.relationships, viewer, entry_of(row), now)
    if ctx.updating and row["source_org"] != viewer.organisation and decision.level is not Level.NONE:
        return decide(policy, (), (), viewer, entry_of(row | {"sharing_basis": {"kind": "none"}}), now)
    return decision


def disclose(entry: dict[str, Any], decision: Decision) -> dict[str, Any]:
    """Shape an entry for its level: flag says only that something exists and who to contact."""
    level = decision.level.value
    base = {
        "id": entry["entry_id"],
        "occurredAt": entry["occurred_at"].isoformat(),
        "source": {"organisation": entry["source_org"], "system": entry["source_system"]},
        "level": level,
    }
    if level == "flag":
        return base | {"note": decision.practitioner_message}
    base |= {"kind": entry["kind"], "category": entry["category"], "summary": entry["summary"]}
    if level == "full":
        base |= {
            "detail": entry["detail"],
            "sensitivityLabels": entry["sensitivity_labels"],
            "sharingBasis": entry["sharing_basis"],
            "correlationIds": entry["correlation_ids"],
        }
    return base
