"""Applies a batch of child-keyed events to every projection in one transaction, with offset tracking.

The pure folds (team, episodes, now, consent records, timeline rows, decisions) collect the changes; this
module loads the touched children's current rows, runs the folds and writes the results. A consent or team
change re-derives that child's precomputed decisions for every entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update

from consent_engine import Policy
from hub.db.projection_tables import consent_pending
from hub.db.tables import event_store
from hub.db.upsert import insert_ignore
from projections.consent_records import CONSENT_KINDS, consent_row, to_record
from projections.disclosure import aware, class_decisions, entry_of, relationships_of, viewer_classes
from projections.episodes import fold_episode
from projections.now import empty_now, fold_now
from projections.rules import Rules, first_field, payload_of
from projections.sql_sink import Consumed, advance_tracking, unseen
from projections.table_set import LIVE, ProjectionTables
from projections.team import fold_team
from projections.timeline import timeline_row


@dataclass
class ChildState:
    team: dict[str, dict[str, Any]]
    episodes: dict[str, dict[str, Any]]
    now: dict[str, Any]
    consents: list[dict[str, Any]]
    changed_team: set[str] = field(default_factory=set)
    changed_episodes: set[str] = field(default_factory=set)
    now_changed: bool = False
    consent_changed: bool = False
    now_existed: bool = False


def _rows(conn: Connection, table: Any, child_id: str) -> list[dict[str, Any]]:
    """Rows as dicts with UTC-aware datetimes (SQLite hands back naive ones), so folds compare like with like."""
    return [
        {k: aware(v) if isinstance(v, datetime) else v for k, v in r._mapping.items()}
        for r in conn.execute(select(table).where(table.c.child_id == child_id))
    ]


def load_child(conn: Connection, child_id: str, t: ProjectionTables = LIVE) -> ChildState:
    now_row = conn.execute(select(t.now.c.state).where(t.now.c.child_id == child_id)).scalar()
    return ChildState(
        team={r["member_id"]: r for r in _rows(conn, t.team, child_id)},
        episodes={r["episode_id"]: r for r in _rows(conn, t.episodes, child_id)},
        now=dict(now_row) if now_row else empty_now(),
        consents=_rows(conn, t.consent, child_id),
        now_existed=now_row is not None,
    )


def correction_of(event: dict[str, Any], rules: Rules) -> tuple[str, str] | None:
    """(target entry id, the status it gets) if the event corrects or withdraws another entry."""
    if event["kind"] in rules.kinds("corrections", "entered_in_error"):
        status = "entered-in-error"
    elif event["kind"] in rules.kinds("corrections", "corrected"):
        status = "superseded"
    else:
        return None
    target = first_field(payload_of(event), rules.fields("corrections", "target_fields"))
    target = target or event["correlation_ids"].get(rules.value("corrections", "target_correlation"))
    return (str(target), status) if target else None


def _upsert(conn: Connection, table: Any, key: str, rows: list[dict[str, Any]]) -> None:
    columns = {c.name for c in table.columns}
    for row in rows:
        values = {k: v for k, v in row.items() if k in columns}
        done = conn.execute(update(table).where(table.c[key] == row[key]).values(**values)).rowcount
        if not done:
            conn.execute(table.insert().values(**values))


def rederive_decisions(conn: Connection, policy: Policy, rules: Rules, child_id: str, state: ChildState,
                       now: datetime, entry_ids: set[str] | None = None, t: ProjectionTables = LIVE) -> int:
    """Recompute the precomputed viewer-class decisions of the child's entries (all, or just entry_ids)."""
    team = list(state.team.values())
    consents = [to_record(c) for c in state.consents]
    rels = relationships_of(team)
    classes = viewer_classes(policy, team, rules)
    query = select(t.timeline).where(t.timeline.c.child_id == child_id)
    if entry_ids is not None:
        query = query.where(t.timeline.c.entry_id.in_(entry_ids))
    count = 0
    for row in conn.execute(query).mappings().all():
        decisions = class_decisions(policy, consents, rels, classes, entry_of(dict(row)), now)
        conn.execute(update(t.timeline).where(t.timeline.c.entry_id == row["entry_id"])
                     .values(decisions=decisions, policy_version=policy.version))
        count += 1
    return count


def apply_events(conn: Connection, policy: Policy, rules: Rules, events: Sequence[dict[str, Any]],
                 now: datetime, t: ProjectionTables = LIVE, pending_marker: bool = True) -> set[str]:
    """Fold new events (already deduplicated) into the projections; returns the children touched."""
    corrections: list[tuple[str, str, str]] = []  # (child id, target entry id, status)
    states: dict[str, ChildState] = {}
    new_entries: dict[str, set[str]] = {}
    timeline_new: list[dict[str, Any]] = []
    for event in events:
        child_id = event["child_id"]
        state = states.get(child_id) or states.setdefault(child_id, load_child(conn, child_id, t))
        timeline_new.append(timeline_row(event))
        new_entries.setdefault(child_id, set()).add(event["event_id"])
        state.changed_team |= fold_team(state.team, event, rules)
        state.changed_episodes |= fold_episode(state.episodes, event, rules)
        state.now_changed |= fold_now(state.now, event, rules)
        correction = correction_of(event, rules)
        if correction:
            state.now.setdefault("corrections", {})[correction[0]] = correction[1]
            state.now_changed = True
            corrections.append((child_id, *correction))
        if event["kind"] in CONSENT_KINDS:
            row = consent_row(event)
            state.consents = [c for c in state.consents if c["consent_id"] != row["consent_id"]] + [row]
            state.consent_changed = True
            if pending_marker:
                conn.execute(delete(consent_pending).where(consent_pending.c.event_id == event["event_id"]))
            _upsert(conn, t.consent, "consent_id", [row])
    for row in timeline_new:  # a correction may arrive before the entry it corrects
        marked = states[row["child_id"]].now.get("corrections", {}).get(row["entry_id"])
        if marked:
            row["status"] = marked
    insert_ignore(conn, t.timeline, timeline_new)
    for child_id, target, status in corrections:
        conn.execute(update(t.timeline).where(t.timeline.c.entry_id == target, t.timeline.c.child_id == child_id)
                     .values(status=status))
    for child_id, state in states.items():
        _upsert(conn, t.team, "member_id", [state.team[k] for k in state.changed_team])
        _upsert(conn, t.episodes, "episode_id", [state.episodes[k] for k in state.changed_episodes])
        if state.now_changed:
            _upsert(conn, t.now, "child_id", [{"child_id": child_id, "state": state.now, "updated_at": now}])
        everything = state.consent_changed or bool(state.changed_team)
        rederive_decisions(conn, policy, rules, child_id, state, now, None if everything else new_entries[child_id], t)
    return set(states)


def project_batch(engine: Engine, policy: Policy, rules: Rules, consumer: str, topic_ids: dict[str, str],
                  records: Sequence[Consumed]) -> int:
    """Event store + every projection + tracking, one transaction. Returns how many events were new."""
    with engine.begin() as conn:
        fresh = unseen(conn, consumer, topic_ids, records)
        ids = {r.event["event_id"] for r in fresh}
        known = set(conn.execute(select(event_store.c.event_id).where(event_store.c.event_id.in_(ids))).scalars())
        new: dict[str, Consumed] = {}
        for rec in fresh:
            if rec.event["event_id"] not in known:
                new.setdefault(rec.event["event_id"], rec)
        if new:
            conn.execute(event_store.insert(), [
                {"event_id": r.event["event_id"], "child_id": r.event["child_id"], "kind": r.event["kind"],
                 "occurred_at": r.event["occurred_at"], "recorded_at": r.event["recorded_at"],
                 "source_org": r.event["source"]["organisation"], "body": r.body}
                for r in new.values()
            ])
            apply_events(conn, policy, rules, [dict(r.event) for r in new.values()], datetime.now(UTC))
        advance_tracking(conn, consumer, topic_ids, records)
        return len(new)
