"""Applies a batch of child-keyed events to every projection in one transaction, with offset tracking.

The pure folds (team, episodes, now, consent records, timeline rows, decisions) collect the changes; this
module loads the touched children's current rows, runs the folds and writes the results in bulk. New entries
get their viewer-class decisions before they are inserted; a child's existing entries are re-derived only
when the child's consent state or legitimate relationships actually changed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, bindparam, delete, select, update

from consent_engine import Policy
from hub.audit import governance
from hub.audit import log as audit
from hub.db.projection_tables import consent_pending
from hub.db.tables import event_store
from hub.db.upsert import insert_all, insert_ignore_all
from hub.disclosure.consent_records import (
    COMPETENCE_KINDS,
    CONSENT_KINDS,
    CONSENT_STATE_KINDS,
    birth_dates,
    competence_row,
    consent_row,
    records_of,
)
from hub.disclosure.decide import (
    ChildContext,
    aware,
    class_decisions,
    decision_key,
    entry_of,
    relationships_of,
    viewer_classes,
)
from hub.disclosure.decision_memo import DecisionMemo
from hub.disclosure.episodes import fold_episode, touches_episodes
from hub.disclosure.rules import Rules, first_field, payload_of
from projections.now import empty_now, fold_now
from projections.sql_sink import Consumed, advance_tracking, execute_many, unseen
from projections.table_set import LIVE, ProjectionTables
from projections.team import fold_team
from projections.timeline import timeline_row

_IN_CHUNK = 2000  # children per IN (...) list: well inside SQLite's and PostgreSQL's bind parameter limits


@dataclass
class ChildState:
    team: dict[str, dict[str, Any]]
    episodes: dict[str, dict[str, Any]]
    now: dict[str, Any]
    consents: list[dict[str, Any]]
    existing: bool = True  # rows already stored (False: a child being rebuilt from nothing)
    assessments: list[dict[str, Any]] = field(default_factory=list)  # competence assessments
    birth_date: date | None = None  # from the identity registry
    changed_assessments: set[str] = field(default_factory=set)
    changed_team: set[str] = field(default_factory=set)
    changed_episodes: set[str] = field(default_factory=set)
    changed_consents: set[str] = field(default_factory=set)
    now_changed: bool = False
    relationships_before: tuple[Any, ...] = ()


def _rows_by_child(conn: Connection, table: Any, child_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Rows of many children in one query, with UTC-aware datetimes (SQLite hands back naive ones).

    Fetched at once and built from plain tuples: only the DateTime columns can hold datetimes (JSON columns
    come back as text-born values), so only they are looked at.
    """
    out: dict[str, list[dict[str, Any]]] = {c: [] for c in child_ids}
    result = conn.execute(select(table).where(table.c.child_id.in_(child_ids)))
    keys = list(result.keys())
    times = [i for i, k in enumerate(keys) if isinstance(table.c[k].type, DateTime)]
    child = keys.index("child_id")
    for row in result.all():
        values = list(row)
        for i in times:
            value = values[i]
            if isinstance(value, datetime):
                values[i] = aware(value)
        out[str(values[child])].append(dict(zip(keys, values, strict=True)))
    return out


def load_children(
    conn: Connection, child_ids: list[str], t: ProjectionTables = LIVE, episodes_for: Collection[str] | None = None
) -> dict[str, ChildState]:
    """The children's stored state. `episodes_for`, when given, names the only children whose episodes are
    needed (the batch has an event that touches them): the others' are neither read nor written."""
    teams = _rows_by_child(conn, t.team, child_ids)
    wanted = child_ids if episodes_for is None else [c for c in child_ids if c in episodes_for]
    eps = _rows_by_child(conn, t.episodes, wanted) if wanted else {}
    consents = _rows_by_child(conn, t.consent, child_ids)
    assessments = _rows_by_child(conn, t.competence, child_ids)
    born = birth_dates(conn, child_ids)
    nows = {
        r.child_id: r.state
        for r in conn.execute(select(t.now.c.child_id, t.now.c.state).where(t.now.c.child_id.in_(child_ids)))
    }
    states = {}
    for child_id in child_ids:
        team = {r["member_id"]: r for r in teams[child_id]}
        states[child_id] = ChildState(
            team=team,
            episodes={r["episode_id"]: r for r in eps.get(child_id, ())},
            now=dict(nows[child_id]) if child_id in nows else empty_now(),
            consents=consents[child_id],
            assessments=assessments[child_id],
            birth_date=born[child_id],
            relationships_before=relationship_key(team.values()),
        )
    return states


def relationship_key(team: Iterable[dict[str, Any]]) -> tuple[Any, ...]:
    """What `relationships_of` builds its relationships from, cheap to compare: a change means re-deciding."""
    return tuple((m["organisation"], aware(m["since"]), aware(m["until"])) for m in team)


def empty_child() -> ChildState:
    return ChildState(team={}, episodes={}, now=empty_now(), consents=[], existing=False)


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


def _upsert(conn: Connection, table: Any, key: str, rows: list[dict[str, Any]], existing: bool) -> None:
    """Bulk upsert: one query finds which keys exist, then one executemany update and one bulk insert.

    Both writes go through plain DBAPI executemany with each column type's own conversion (hub.db.upsert,
    sql_sink.execute_many): the stored values are SQLAlchemy's, without its per-row parameter handling.
    Rows are grouped by the columns they carry, so a row without some column leaves it as before.
    """
    if not rows:
        return
    columns = {c.name for c in table.columns}
    clean = [{k: v for k, v in row.items() if k in columns} for row in rows]
    found = set()
    if existing:
        found = set(conn.execute(select(table.c[key]).where(table.c[key].in_([r[key] for r in clean]))).scalars())
    inserts: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in clean:
        (updates if r[key] in found else inserts).setdefault(tuple(r), []).append(r)
    for group in inserts.values():
        insert_all(conn, table, group)
    for names, group in updates.items():
        values = [c for c in names if c != key]
        if not values:
            continue
        execute_many(
            conn,
            update(table).where(table.c[key] == bindparam("_key")).values({c: bindparam(c) for c in values}),
            [{"_key": r[key], **r} for r in group],
        )


class _Decider:
    """The consent engine's inputs for one child, built once per batch."""

    def __init__(
        self,
        policy: Policy,
        rules: Rules,
        state: ChildState,
        now: datetime,
        child_id: str | None = None,
        memo: DecisionMemo | None = None,
    ) -> None:
        """`memo` (with the child's id): the worker's decisions for the child from earlier batches, used while
        they hold (hub.disclosure.decision_memo); without it, each kind of entry is decided once per batch."""
        team = list(state.team.values())
        self.policy, self.now = policy, now
        self.consents = records_of(state.consents, state.assessments, state.birth_date)
        self.rels = relationships_of(team)
        self.classes = viewer_classes(policy, team, rules)
        self._memo: dict[Any, dict[str, str]] = (
            memo.for_child(child_id, self.consents, self.rels, now) if memo is not None and child_id else {}
        )

    def decisions(self, row: dict[str, Any]) -> dict[str, str]:
        key = decision_key(row)
        known = self._memo.get(key)
        if known is None:
            known = class_decisions(self.policy, self.consents, self.rels, self.classes, entry_of(row), self.now)
            self._memo[key] = known
        return dict(known)


def _replaced(rows: list[dict[str, Any]], key: str, row: dict[str, Any]) -> list[dict[str, Any]]:
    """`rows` with `row` in place of the one with its key, else at the end: the order the table then reads in
    (an update keeps a row's place, an insert goes last), so the projector's state and a read agree."""
    if any(r[key] == row[key] for r in rows):
        return [row if r[key] == row[key] else r for r in rows]
    return [*rows, row]


def apply_events(
    conn: Connection,
    policy: Policy,
    rules: Rules,
    events: Sequence[dict[str, Any]],
    now: datetime,
    t: ProjectionTables = LIVE,
    pending_marker: bool = True,
    fresh: bool = False,
    memo: DecisionMemo | None = None,
    contexts: dict[str, ChildContext] | None = None,
) -> set[str]:
    """Fold new events (already deduplicated) into the projections; returns the children touched.

    `fresh` means the children have no stored rows yet (a rebuild): nothing is read back, everything is
    inserted in bulk. `memo`: the worker's decisions from earlier batches (hub.disclosure.decision_memo).
    `contexts`, when given, gets each touched child's consent-engine inputs as this transaction leaves them
    (not `updating`: the caller asks the database which children have a consent change pending), so the
    outbound feeds of the same batch need not read them again.
    """
    child_ids = list(dict.fromkeys(e["child_id"] for e in events))
    if fresh:
        states = {c: empty_child() for c in child_ids}
        for child_id, born in birth_dates(conn, child_ids).items():
            states[child_id].birth_date = born
    else:
        touched = {e["child_id"] for e in events if touches_episodes(e, rules)}
        states = load_children(conn, child_ids, t, episodes_for=touched)
    corrections: list[tuple[str, str, str]] = []  # (child id, target entry id, status)
    timeline_new: list[dict[str, Any]] = []
    for event in events:
        child_id = event["child_id"]
        state = states[child_id]
        timeline_new.append(timeline_row(event))
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
            state.consents = _replaced(state.consents, "consent_id", row)
            state.changed_consents.add(row["consent_id"])
        elif event["kind"] in COMPETENCE_KINDS:
            row = competence_row(event)
            state.assessments = _replaced(state.assessments, "row_id", row)
            state.changed_assessments.add(row["row_id"])
    pending_events = [e for e in events if e["kind"] in CONSENT_STATE_KINDS]
    if pending_events and pending_marker:  # the marker of an applied consent or competence change goes
        conn.execute(
            delete(consent_pending).where(consent_pending.c.event_id.in_([e["event_id"] for e in pending_events]))
        )
    consent_events = [e for e in events if e["kind"] in CONSENT_KINDS]
    if consent_events and pending_marker:  # the live path: rebuilds and re-projections audit nothing again
        changes = []
        for event in consent_events:
            row = consent_row(event)
            recorded_by = payload_of(event).get("recorded_by") or "system"
            changes.append(
                governance.consent_change(
                    user_id=str(recorded_by),
                    organisation=event["source"]["organisation"],
                    role="system",
                    child_id=event["child_id"],
                    consent_id=row["consent_id"],
                    status=row["status"],
                    policy_version=policy.version,
                )
            )
        audit.append_many(conn, changes, now)

    deciders = {child_id: _Decider(policy, rules, state, now, child_id, memo) for child_id, state in states.items()}
    if contexts is not None:
        for child_id, decider in deciders.items():
            team = tuple(states[child_id].team.values())
            contexts[child_id] = ChildContext(child_id, tuple(decider.consents), tuple(decider.rels), team, False)
    for row in timeline_new:
        state = states[row["child_id"]]
        marked = state.now.get("corrections", {}).get(row["entry_id"])
        if marked:  # a correction may arrive before the entry it corrects
            row["status"] = marked
        row["decisions"] = deciders[row["child_id"]].decisions(row)
        row["policy_version"] = policy.version
    insert_ignore_all(conn, t.timeline, timeline_new)
    for child_id, target, status in corrections:
        conn.execute(
            update(t.timeline)
            .where(t.timeline.c.entry_id == target, t.timeline.c.child_id == child_id)
            .values(status=status)
        )
    new_ids = {row["entry_id"] for row in timeline_new}
    existing = not fresh
    values = list(states.values())
    _upsert(conn, t.team, "member_id", [s.team[k] for s in values for k in s.changed_team], existing)
    _upsert(conn, t.episodes, "episode_id", [s.episodes[k] for s in values for k in s.changed_episodes], existing)
    _upsert(
        conn,
        t.consent,
        "consent_id",
        [c for s in values for c in s.consents if c["consent_id"] in s.changed_consents],
        existing,
    )
    _upsert(
        conn,
        t.competence,
        "row_id",
        [a for s in values for a in s.assessments if a["row_id"] in s.changed_assessments],
        existing,
    )
    _upsert(
        conn,
        t.now,
        "child_id",
        [{"child_id": c, "state": s.now, "updated_at": now} for c, s in states.items() if s.now_changed],
        existing,
    )
    if existing:
        rederive_many(
            conn,
            {
                child_id: deciders[child_id]
                for child_id, state in states.items()
                if state.changed_consents
                or state.changed_assessments
                # an unchanged team (no member changed) has the relationships it was loaded with
                or (state.changed_team and relationship_key(state.team.values()) != state.relationships_before)
            },
            t,
            skip=new_ids,
        )
    return set(states)


def rederive_many(
    conn: Connection, deciders: dict[str, _Decider], t: ProjectionTables = LIVE, skip: set[str] | None = None
) -> int:
    """Recompute the precomputed viewer-class decisions of these children's stored entries (each child with
    its own decider); returns how many changed.

    Only what a decision reads is loaded (not the entries' detail), for all the children in one query, and
    only changed rows are written, in one executemany: a consent change on a child with a long story is on
    the path to "visible within a second", and a batch of new team members across thousands of children
    must not cost a query pair per child.
    """
    if not deciders:
        return 0
    c = t.timeline.c
    columns = (
        c.entry_id,
        c.child_id,
        c.source_org,
        c.category,
        c.sensitivity_labels,
        c.sharing_basis,
        c.occurred_at,
        c.decisions,
        c.policy_version,
    )
    updates = []
    child_ids = list(deciders)
    for i in range(0, len(child_ids), _IN_CHUNK):
        rows = conn.execute(select(*columns).where(c.child_id.in_(child_ids[i : i + _IN_CHUNK]))).mappings()
        for row in rows:
            if skip and row["entry_id"] in skip:
                continue
            decider = deciders[row["child_id"]]
            version = decider.policy.version
            decisions = decider.decisions(dict(row))
            if decisions != row["decisions"] or row["policy_version"] != version:
                updates.append({"eid": row["entry_id"], "decisions": decisions, "policy_version": version})
    execute_many(
        conn,
        update(t.timeline)
        .where(t.timeline.c.entry_id == bindparam("eid"))
        .values(decisions=bindparam("decisions"), policy_version=bindparam("policy_version")),
        updates,
    )
    return len(updates)


def project_batch(
    engine: Engine,
    policy: Policy,
    rules: Rules,
    consumer: str,
    topic_ids: dict[str, str],
    records: Sequence[Consumed],
    memo: DecisionMemo | None = None,
    contexts: dict[str, ChildContext] | None = None,
) -> int:
    """Event store + every projection + tracking, one transaction. Returns how many events were new.
    `memo` and `contexts` as for `apply_events`."""
    with engine.begin() as conn:
        fresh = unseen(conn, consumer, topic_ids, records)
        ids = {r.event["event_id"] for r in fresh}
        known = set(conn.execute(select(event_store.c.event_id).where(event_store.c.event_id.in_(ids))).scalars())
        new: dict[str, Consumed] = {}
        for rec in fresh:
            if rec.event["event_id"] not in known:
                new.setdefault(rec.event["event_id"], rec)
        # A resent consent or competence record (same event id) was applied when first seen; the marker the
        # identity step put on the child for the resend must go too, or its story would stay "updating".
        resent = [r.event["event_id"] for r in fresh if r.event["event_id"] in known]
        if resent:
            conn.execute(delete(consent_pending).where(consent_pending.c.event_id.in_(resent)))
        if new:
            insert_all(
                conn,
                event_store,
                [
                    {
                        "event_id": r.event["event_id"],
                        "child_id": r.event["child_id"],
                        "kind": r.event["kind"],
                        "occurred_at": r.event["occurred_at"],
                        "recorded_at": r.event["recorded_at"],
                        "source_org": r.event["source"]["organisation"],
                        "body": r.body,
                    }
                    for r in new.values()
                ],
            )
            apply_events(
                conn,
                policy,
                rules,
                [dict(r.event) for r in new.values()],
                datetime.now(UTC),
                memo=memo,
                contexts=contexts,
            )
        advance_tracking(conn, consumer, topic_ids, records)
        return len(new)
