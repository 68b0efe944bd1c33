"""The projection tables as a set, so the same code writes the live tables or a rebuild's shadow copies."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import MetaData, Table

from hub.db.projection_tables import child_now, competence_assessments, consent_records, episodes, team_members
from hub.db.tables import timeline_entries

PROJECTIONS = ("timeline", "team", "episodes", "now", "consent", "competence")
SHADOW_SUFFIX = "__rebuild"


@dataclass(frozen=True)
class ProjectionTables:
    timeline: Table
    team: Table
    episodes: Table
    now: Table
    consent: Table
    competence: Table

    def by_name(self) -> dict[str, Table]:
        return {name: getattr(self, name) for name in PROJECTIONS}


LIVE = ProjectionTables(timeline_entries, team_members, episodes, child_now, consent_records, competence_assessments)


def shadow_tables() -> ProjectionTables:
    """Copies of the live tables under `<name>__rebuild`, with the same columns and keys (no named indexes,
    whose names would clash with the live ones; the swap recreates nothing, so lookups stay on primary keys)."""
    meta = MetaData()
    copies = {}
    for name, table in LIVE.by_name().items():
        columns = [c._copy() for c in table.columns]
        for column in columns:
            column.index = None  # the swap creates the live table's own named indexes
        copy = Table(table.name + SHADOW_SUFFIX, meta, *columns)
        copies[name] = copy
    return ProjectionTables(**copies)
