"""A child's story for one viewer: timeline entries, team, episodes and "now", each filtered by decision.

Items derived from entries (the THRIVE grouping, a plan, the young person's words, an episode) are shown
only if the viewer may see the entry they came from at the needed level; team members only if the viewer
may see something from that organisation. No counts or hints of what is hidden.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import orjson
from sqlalchemy import Connection, select

from consent_engine import Decision, Level, Policy, Viewer
from hub.audit.log import EncodedEntries
from hub.db.projection_tables import child_now, episodes
from hub.disclosure import break_glass
from hub.disclosure.decide import ChildContext, aware, disclose, level_for
from hub.disclosure.decision_memo import horizon
from hub.disclosure.episodes import waiting_days
from hub.read import measures, story_cache
from hub.read.story_cache import ChildRecord

_RANK = {Level.NONE: 0, Level.FLAG: 1, Level.SUMMARY: 2, Level.FULL: 3}


@dataclass
class Story:
    child_id: str
    updating: bool
    entries: list[dict[str, Any]] = field(default_factory=list)
    levels: dict[str, Level] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    context: ChildContext | None = None
    # The viewer's break-glass declaration in force for this child when the story was read, if any.
    break_glass: break_glass.Declaration | None = None
    # The kept record the story was decided from (hub.read.story_cache): shared, never mutated.
    record: ChildRecord | None = None
    audited: list[dict[str, str]] | None = None  # the audit's entry list, shaped with `entries`
    outcome: tuple[Any, ...] | None = None  # each kind of entry's (level, flag note): what the shapes depend on
    exists: bool = True  # False: no such child (the story is empty)

    def audit_entries(self) -> list[dict[str, str]]:
        if self.audited is not None and len(self.audited) == len(self.entries):
            return self.audited  # shaped with the entries (trends change details, never ids or levels)
        return [{"id": e["id"], "level": e["level"]} for e in self.entries]

    def level_counts(self) -> dict[Level, int]:
        """How many entries were decided at each level (what telemetry counts), worked out once per outcome."""
        if self.record is None or self.outcome is None:
            return dict(Counter(self.levels.values()))
        counts: dict[Level, int] = self.record.shape(("counts", self.outcome), lambda: Counter(self.levels.values()))
        return counts

    def entry_ids(self) -> list[str]:
        """The disclosed entries' ids, in order (to link the read to their ingest traces)."""
        if self.record is None or self.outcome is None:
            return [e["id"] for e in self.entries]
        ids: list[str] = self.record.shape(("ids", self.outcome), lambda: [e["id"] for e in self.entries])
        return ids

    def audit_extra(self) -> dict[str, Any]:
        """What a read's audit record adds under break-glass: the declaration it relied on."""
        if self.break_glass is None:
            return {}
        glass = self.break_glass
        return {"reason": f"break-glass:{glass.reason}", "detail": {"breakGlass": glass.declaration_id}}


def read_story(conn: Connection, policy: Policy, viewer: Viewer, child_id: str, now: datetime) -> Story:
    """The story as `viewer` may see it now, with their break-glass declaration for this child if one is in force:
    the consent engine decides with it (at most the policy's break-glass level, consent still applying)."""
    live = story_cache.state(conn, child_id, viewer.user_id)
    if not live.exists:  # no such child: nothing to decide (the caller answers as for any unknown id)
        return Story(child_id, False, exists=False)
    glass = break_glass.in_force(conn, viewer, child_id, now) if live.glass else None
    story = _read(conn, policy, glass.on(viewer) if glass else viewer, child_id, live, now)
    story.break_glass = glass
    return story


def read_timeline(conn: Connection, policy: Policy, viewer: Viewer, child_id: str, now: datetime) -> Story:
    """Decide every entry for `viewer` at `now`, from the child's record as it is now (hub.read.story_cache:
    kept rows while the child's events are unchanged, consent pending read live) and each kind of entry once."""
    return _read(conn, policy, viewer, child_id, story_cache.state(conn, child_id), now)


def _read(
    conn: Connection, policy: Policy, viewer: Viewer, child_id: str, live: story_cache.ChildState, now: datetime
) -> Story:
    kept = story_cache.cache_for(conn.engine).record(conn, child_id, live.fingerprint)
    return decided(policy, viewer, kept, live.pending, now)


def decided(policy: Policy, viewer: Viewer, kept: ChildRecord, pending: bool, now: datetime) -> Story:
    """Each kind of entry decided for `viewer` at `now`; what follows from those decisions (levels, disclosed
    entries, the audit's entry list) depends on nothing else, so it is shaped once per distinct outcome."""
    ctx = ChildContext(kept.child_id, kept.consents, kept.relationships, kept.team, pending)
    outcomes = _outcomes(policy, ctx, viewer, kept, now)
    vector = tuple((d.level, d.practitioner_message if d.level is Level.FLAG else None) for d in outcomes)
    shaped: Shaped = kept.shape(("story", vector), partial(_shape, kept, outcomes))
    story = Story(kept.child_id, pending, entries=shaped.entries, levels=shaped.levels, rows=kept.rows, context=ctx)
    story.record, story.audited, story.outcome = kept, shaped.audit, vector
    _trends(story, kept)
    return story


class EncodedList(list[dict[str, Any]]):
    """Disclosed entries shared by the reads of one outcome, with their JSON encoded once (`encoded`: what
    orjson gives for the list itself), which a response splices in instead of encoding them again."""

    encoded: orjson.Fragment | None = None


def _outcomes(policy: Policy, ctx: ChildContext, viewer: Viewer, kept: ChildRecord, now: datetime) -> list[Decision]:
    """Each kind of entry decided for `viewer` at `now`. The kept record's consent records and relationships
    are fixed, so a viewer's decisions hold from the moment they were made until the inputs' horizon (the next
    moment a record or relationship starts or ends, or midnight: hub.disclosure.decision_memo, property-tested
    against the engine over time); a break-glass viewer is decided afresh every read."""
    if viewer.break_glass is not None:
        return [level_for(policy, ctx, viewer, row, now) for row in kept.kinds]
    key = ("decisions", id(policy), policy.version, viewer, ctx.updating)
    known = kept.derived.get(key)
    if known is not None and known[0] <= now < known[1]:
        return known[2]
    outcomes = [level_for(policy, ctx, viewer, row, now) for row in kept.kinds]
    kept.derived.pop(key, None)
    kept.shape(key, lambda: (now, horizon(kept.consents, kept.relationships, now), outcomes))
    return outcomes


@dataclass(frozen=True)
class Shaped:
    levels: dict[str, Level]
    entries: list[dict[str, Any]]
    audit: list[dict[str, str]]


def _shape(kept: ChildRecord, outcomes: list[Decision]) -> Shaped:
    levels: dict[str, Level] = {}
    entries: list[dict[str, Any]] = []
    for row, kind in zip(kept.rows, kept.kind_of, strict=True):
        decision = outcomes[kind]
        levels[row["entry_id"]] = decision.level
        if decision.level is not Level.NONE:
            entries.append(disclose(row, decision))
    shared = EncodedList(entries)
    shared.encoded = orjson.Fragment(orjson.dumps(entries, option=orjson.OPT_NON_STR_KEYS))
    return Shaped(levels, shared, EncodedEntries([{"id": e["id"], "level": e["level"]} for e in entries]))


def _trends(story: Story, kept: ChildRecord) -> None:
    """Outcome-measure trends (hub.read.measures) over what this viewer sees at full, on copies of the kept
    rows and entries they touch (kept ones are shared between reads)."""
    if not kept.measured:
        return
    found = measures.trends(kept.measured, {k: v.value for k, v in story.levels.items()})
    if not found:
        return
    story.rows = [
        dict(r, detail={**r["detail"], "trend": found[r["entry_id"]]}) if r["entry_id"] in found else r
        for r in story.rows
    ]
    story.entries = [
        dict(e, detail={**e["detail"], "trend": found[e["id"]]})
        if e["id"] in found and e.get("detail") is not None
        else e
        for e in story.entries
    ]


def _at_least(story: Story, entry_id: str | None, level: Level) -> bool:
    return entry_id is not None and _RANK[story.levels.get(entry_id, Level.NONE)] >= _RANK[level]


def _seen_orgs(story: Story) -> set[str]:
    return {r["source_org"] for r in story.rows if story.levels.get(r["entry_id"], Level.NONE) is not Level.NONE}


def _by_referral(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    by_ref: dict[str, list[str]] = {}
    for row in rows:
        ref = (row["correlation_ids"] or {}).get("referral")
        if ref:
            by_ref.setdefault(ref, []).append(row["entry_id"])
    return by_ref


def _stored(conn: Connection, story: Story) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The child's episodes and "now": kept with its record, else read."""
    if story.record is not None:
        return story.record.episodes, story.record.now_state
    eps = [dict(ep) for ep in conn.execute(select(episodes).where(episodes.c.child_id == story.child_id)).mappings()]
    state = conn.execute(select(child_now.c.state).where(child_now.c.child_id == story.child_id)).scalar() or {}
    return eps, state


def summary(conn: Connection, story: Story, now: datetime) -> dict[str, Any]:
    kept = story.record
    if kept is not None and story.outcome is not None:
        seen_orgs = kept.shape(("seen-orgs", story.outcome), partial(_seen_orgs, story))
        by_ref = kept.shape("by-referral", partial(_by_referral, kept.rows))
    else:
        seen_orgs, by_ref = _seen_orgs(story), _by_referral(story.rows)
    team = [
        {
            "organisation": m["organisation"],
            "organisationType": m["organisation_type"],
            "role": m["role"],
            "worker": m["worker"],
            "contact": m["contact"],
            "since": m["since"].isoformat(),
            "until": m["until"].isoformat() if m["until"] else None,
        }
        for m in (story.context.team if story.context else ())
        if m["organisation"] in seen_orgs
    ]
    stored_episodes, state = _stored(conn, story)
    shown_episodes = []
    for ep in stored_episodes:
        if any(_at_least(story, e, Level.SUMMARY) for e in by_ref.get(ep["referral_ref"], [])):
            item = {k: aware(v) if isinstance(v, datetime) else v for k, v in ep.items()}
            item["waiting_days"] = waiting_days(item, now)
            shown_episodes.append({k: v.isoformat() if isinstance(v, datetime) else v for k, v in item.items()})
    thrive = state.get("thrive")
    ending = state.get("ending")
    return {
        "childId": story.child_id,
        "updating": story.updating,
        "team": team,
        "episodes": shown_episodes,
        "thrive": thrive if thrive and _at_least(story, thrive["entry_id"], Level.SUMMARY) else None,
        "ending": ending if ending and _at_least(story, ending["entry_id"], Level.SUMMARY) else None,
        "openPlans": [
            p
            for p in (state.get("plans") or {}).values()
            if p["open"] and _at_least(story, p["entry_id"], Level.SUMMARY)
        ],
        "voice": [v for v in state.get("voice") or [] if _at_least(story, v["entry_id"], Level.FULL)],
    }
