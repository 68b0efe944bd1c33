"""The client registry: which child is this subject? SQL side effects around the pure scoring and rules.

Order of evidence: the same source record seen before → validated identifiers (NHS number, UPN, local ids)
→ probabilistic Fellegi–Sunter over blocked candidates. Conflicts (same NHS number with a different date of
birth, possible twins, identifiers pointing at two children that do not look alike) create a separate child
and a review item, never a link. Each event is linked to the source record it came through, so an unmerge
can move back exactly the right events.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, or_, select

from connectors.identifiers import NHS_NUMBER_SYSTEM
from hub.db.identity_tables import identity_event_links, identity_merges, identity_records, identity_reviews
from hub.db.tables import child_identifiers
from hub.db.upsert import insert_ignore
from hub.events.model import Identifier, Subject
from projections.identity import rules
from projections.identity.blocking import block_keys
from projections.identity.compare import Demographics
from projections.identity.lookups import Lookups
from projections.identity.merging import Actor, Reproject, current_child, lock_registry, merge_children, unmerge
from projections.identity.reproject import Reprojector
from projections.identity.scoring import Score, Scorer

REGISTRY_ACTOR = Actor(user="onestory-registry", organisation="onestory", source="registry")
MERGED_KIND = "patient.merged"
LINKED_KIND = "patient.linked"  # ADT^A24: the subject's record and payload.linked_subject are one patient
UNLINKED_KIND = "patient.unlinked"  # ADT^A37: that link undone
SOURCE_IDENTITY_KINDS = frozenset({MERGED_KIND, LINKED_KIND, UNLINKED_KIND})
"""Kinds whose source asserts something about identity: they always take the registry's full path."""


@dataclass
class Resolution:
    child_id: str
    record_key: str
    how: str  # record | identifier | score | new | conflict
    reviews: list[str] = field(default_factory=list)  # review reasons opened for this record
    new_child: bool = False  # child_id is new: its row is written with the record (one statement)


@dataclass(frozen=True)
class _Candidate:
    record_key: str  # one of the child's records that shares a block with the new record
    child_id: str
    score: Score


def _demographics(row: Any) -> Demographics:
    return Demographics(row.given_name, row.family_name, row.birth_date, row.sex, row.postcode)


def _identifiers_of(conn: Connection, record_key: str) -> list[Identifier]:
    """A stored source record's identifiers, as the registry keeps them ([system, value] pairs)."""
    found = conn.execute(
        select(identity_records.c.identifiers).where(identity_records.c.record_key == record_key)
    ).scalar()
    return [{"system": s, "value": v, "validated": True} for s, v in found or ()]


def identifier_in(keys: Sequence[rules.Key]) -> ColumnElement[bool]:
    """(system, value) IN keys, spelled as ORs: SQLite does not use the primary key for row-value IN lists."""
    return or_(*(and_(child_identifiers.c.system == s, child_identifiers.c.value == v) for s, v in keys))


class Registry:
    """Stateless apart from configuration: every call works inside the caller's transaction."""

    def __init__(self, scorer: Scorer, reproject: Reproject | None = None) -> None:
        self.scorer = scorer
        self.reproject = reproject

    @classmethod
    def bundled(cls, reproject: Reproject | None = None) -> Registry:
        return cls(Scorer.bundled(), reproject)

    # -- entry points ------------------------------------------------------------------------------------
    def resolve_event(self, conn: Connection, event: dict[str, Any], now: datetime) -> str:
        """The identity agent's call: child id for an intake event; an ADT^A40 merge is applied on the way."""
        child_id, record_key = self.resolve_event_unlinked(conn, event, now)
        Lookups(conn).insert_event_links([(event["event_id"], record_key)])
        return child_id

    def resolve_event_unlinked(self, conn: Connection, event: dict[str, Any], now: datetime) -> tuple[str, str]:
        """`resolve_event` without writing the event's link: (child id, source record key), for a caller that
        links a whole batch at once (projections.identity.batch). Nothing here reads event links.

        The child is the resolution's own, not followed through identity_merges: merges and unmerges move
        records and identifiers, so the registry only ever finds current children, the children it creates
        are current, and every merge on the way keeps the resolved child as the survivor. (The batch's
        known-record path relies on the same; asking again cost a round trip per new record.)"""
        org = event["source"]["organisation"]
        resolution = self.resolve(conn, event["subject"], org, now)
        kind = event.get("kind")
        if kind in SOURCE_IDENTITY_KINDS:
            payload = event["payload"][1] if isinstance(event.get("payload"), tuple) else {}
            if kind == MERGED_KIND:
                self.apply_source_merge(
                    conn, resolution.child_id, payload.get("retired_identifiers") or [], org, payload.get("reason"), now
                )
            elif payload.get("linked_subject"):
                apply = self.apply_source_link if kind == LINKED_KIND else self.apply_source_unlink
                apply(conn, resolution, payload["linked_subject"], org, payload.get("reason"), now)
        return resolution.child_id, resolution.record_key

    def apply_source_merge(
        self,
        conn: Connection,
        surviving: str,
        retired_identifiers: list[Identifier],
        org: str,
        reason: str | None,
        now: datetime,
    ) -> list[str]:
        """ADT^A40: the source says these identifiers were the surviving patient's all along."""
        keys = rules.check_identifiers(retired_identifiers).valid
        if not keys:
            return []
        found = conn.execute(select(child_identifiers.c.child_id).where(identifier_in(keys))).scalars()
        actor = Actor(user=f"adt-a40:{org}", organisation=org, source="adt-a40")
        return [
            merge_children(conn, surviving, retired, actor, reason or "ADT^A40 merge", now, reproject=self.reproject)
            for retired in sorted(set(found))
            if current_child(conn, retired) != current_child(conn, surviving)
        ]

    def apply_source_link(
        self, conn: Connection, resolution: Resolution, linked: Subject, org: str, reason: str | None, now: datetime
    ) -> str | None:
        """ADT^A24: the source says its two records are one patient. The linked record is resolved like any
        record (so an event that later comes through it finds it), then its child is merged into the subject's,
        both records surviving; returns the merge id. Two different valid NHS numbers are not one child
        whatever the source says: the pair goes to the stewards' review instead."""
        other = self.resolve(conn, linked, org, now)
        surviving, retired = current_child(conn, resolution.child_id), current_child(conn, other.child_id)
        if surviving == retired:
            return None
        ours = rules.nhs_number(rules.check_identifiers(_identifiers_of(conn, resolution.record_key)).valid)
        theirs = rules.nhs_number(rules.check_identifiers(linked["identifiers"]).valid)
        if ours and theirs and ours != theirs:
            self._open_review(
                conn, surviving, retired, resolution.record_key, other.record_key, "source-link", None, now
            )
            return None
        actor = Actor(user=f"adt-a24:{org}", organisation=org, source="adt-a24")
        return merge_children(conn, surviving, retired, actor, reason or "ADT^A24 link", now, reproject=self.reproject)

    def apply_source_unlink(
        self, conn: Connection, resolution: Resolution, linked: Subject, org: str, reason: str | None, now: datetime
    ) -> list[tuple[str, str]]:
        """ADT^A37: undo the source's own ADT^A24 link between these two records (never a steward's or the
        registry's merge: the source can only take back what it asserted). Returns (surviving, restored) pairs."""
        linked_key = rules.record_key(org, linked["identifiers"])
        keys = {linked_key, resolution.record_key}
        active = conn.execute(
            select(identity_merges.c.merge_id, identity_merges.c.record_keys).where(
                identity_merges.c.status == "active", identity_merges.c.source == "adt-a24"
            )
        ).all()
        actor = Actor(user=f"adt-a37:{org}", organisation=org, source="adt-a24")
        return [
            unmerge(conn, row.merge_id, actor, reason or "ADT^A37 unlink", now, reproject=self.reproject)
            for row in active
            if keys & set(row.record_keys or ())
        ]

    def resolve(self, conn: Connection, subject: Subject, source_org: str, now: datetime) -> Resolution:
        lock_registry(conn)
        if not subject["identifiers"]:
            raise ValueError("subject has no identifier: a source record must say which record it is")
        rkey = rules.record_key(source_org, subject["identifiers"])
        checked = rules.check_identifiers(subject["identifiers"])
        nhs = rules.nhs_number(checked.valid)
        known, found, nhs_dates = Lookups(conn).record_or_identifiers(rkey, checked.valid, nhs)
        if known is not None:
            return Resolution(known, rkey, "record")  # merges move records, so this is already the current child
        demo = Demographics.of(
            subject.get("given_name"),
            subject.get("family_name"),
            birth_date_of(subject.get("birth_date")),
            subject.get("sex"),
            subject.get("postcode"),
        )
        if found:
            resolution = self._resolve_by_identifier(conn, rkey, checked.valid, found, nhs_dates, demo, now)
        else:
            resolution = self._resolve_by_score(conn, rkey, checked.valid, demo, now)
        self._store_record(conn, resolution, source_org, checked, demo, now)
        return resolution

    # -- deterministic -----------------------------------------------------------------------------------
    def _resolve_by_identifier(
        self,
        conn: Connection,
        rkey: str,
        keys: list[rules.Key],
        found: dict[rules.Key, str],
        nhs_dates: list[date | None],
        demo: Demographics,
        now: datetime,
    ) -> Resolution:
        """`nhs_dates`: birth dates of the records of the child holding the record's NHS number."""
        ordered = list(dict.fromkeys(found[k] for k in keys if k in found))
        nhs = rules.nhs_number(keys)
        if nhs and (NHS_NUMBER_SYSTEM, nhs) in found:
            nhs_child = found[(NHS_NUMBER_SYSTEM, nhs)]
            if rules.nhs_dob_conflict(nhs_dates, demo.birth_date):
                split = self._split_off_with_birth_date(conn, nhs_child, demo.birth_date)
                if split is None:
                    child = self._new_child_id()
                    self._open_review(conn, nhs_child, child, None, rkey, "nhs-dob-conflict", None, now)
                    return Resolution(child, rkey, "conflict", ["nhs-dob-conflict"], new_child=True)
                # The number's first child and this one stay apart (the review decides); never bridged here.
                ordered = [split, *(c for c in ordered if c not in (split, nhs_child))]
        resolution = Resolution(ordered[0], rkey, "identifier")
        for other in ordered[1:]:
            self._bridge(conn, resolution, other, demo, now)
        self._join_look_alikes(conn, resolution, keys, demo, now)
        return resolution

    def _join_look_alikes(
        self, conn: Connection, resolution: Resolution, keys: list[rules.Key], demo: Demographics, now: datetime
    ) -> None:
        """A record linked by identifier that also scores a link with another child joins the two.

        It is as strong as the link the record would have made by score without its identifiers. Never across
        a conflict, a possible twin or a steward's decision: only pairs never reviewed, or reviewed on a weak
        score and still open (that item is closed as linked by the registry).
        """
        reason = "one record: identifiers of one child, a link score with the other"
        for cand in self._candidates(conn, demo, keys):
            if cand.child_id == resolution.child_id or cand.score.band != "link":
                continue
            if rules.possible_twin(cand.score.levels) or current_child(conn, cand.child_id) != cand.child_id:
                continue
            status = self._review_status(conn, resolution.child_id, cand.child_id)
            if status not in (None, "open:score"):
                continue
            merge_children(
                conn, resolution.child_id, cand.child_id, REGISTRY_ACTOR, reason, now, reproject=self.reproject
            )
            if status is not None:
                conn.execute(
                    identity_reviews.update()
                    .where(identity_reviews.c.pair_key == rules.pair_key(resolution.child_id, cand.child_id))
                    .values(status="linked", decided_at=now, decided_by=REGISTRY_ACTOR.user, decision_reason=reason)
                )

    @staticmethod
    def _split_off_with_birth_date(conn: Connection, nhs_child: str, birth_date: date | None) -> str | None:
        """The child split off this NHS number's child (nhs-dob-conflict) whose records have this birth date.

        Once a number has been seen with two dates of birth, each later record with one of those dates joins
        the child that has it; the two children themselves are only ever joined by a steward.
        """
        split_off = conn.execute(
            select(identity_reviews.c.child_b).where(
                identity_reviews.c.child_a == nhs_child, identity_reviews.c.reason == "nhs-dob-conflict"
            )
        ).scalars()
        children = sorted({current_child(conn, c) for c in split_off} - {nhs_child})
        if not children or birth_date is None:
            return None
        rows = conn.execute(
            select(identity_records.c.child_id, identity_records.c.birth_date).where(
                identity_records.c.child_id.in_(children)
            )
        )
        dates: dict[str, set[date]] = {}
        for child_id, born in rows:
            dates.setdefault(child_id, set()).add(born)
        return rules.holder_of_birth_date(dates, birth_date)

    def _bridge(self, conn: Connection, resolution: Resolution, other: str, demo: Demographics, now: datetime) -> None:
        """Validated identifiers on one record point at two children: merge only if they also look alike."""
        best = self._best_candidate(conn, [other], demo)
        twin = best is not None and rules.possible_twin(best.score.levels)
        plausible = best is not None and best.score.total >= self.scorer.config.review_threshold
        if plausible and not twin and not self._decided_distinct(conn, resolution.child_id, other):
            merge_children(
                conn,
                resolution.child_id,
                other,
                REGISTRY_ACTOR,
                "identifiers on one record",
                now,
                reproject=self.reproject,
            )
        else:
            self._open_review(
                conn,
                resolution.child_id,
                other,
                None,
                resolution.record_key,
                "identifier-disagreement",
                best.score if best else None,
                now,
            )
            resolution.reviews.append("identifier-disagreement")

    # -- probabilistic -----------------------------------------------------------------------------------
    def _resolve_by_score(
        self, conn: Connection, rkey: str, keys: list[rules.Key], demo: Demographics, now: datetime
    ) -> Resolution:
        candidates = self._candidates(conn, demo, keys)  # one per child
        ranked = sorted(candidates, key=lambda c: -c.score.total)
        for cand in ranked:
            if cand.score.band == "link" and not rules.possible_twin(cand.score.levels):
                return Resolution(cand.child_id, rkey, "score")
        child = self._new_child_id()
        resolution = Resolution(child, rkey, "new", new_child=True)
        for cand in ranked:
            if cand.score.band == "distinct":
                break
            reason = "possible-twin" if rules.possible_twin(cand.score.levels) else "score"
            self._open_review(conn, cand.child_id, child, cand.record_key, rkey, reason, cand.score, now)
            resolution.reviews.append(reason)
        return resolution

    def _candidates(self, conn: Connection, demo: Demographics, keys: list[rules.Key]) -> list[_Candidate]:
        """Children with records in this record's blocks, each scored on all of those records together."""
        blocks = block_keys(demo, self.scorer.nicknames)
        if not blocks:
            return []
        lookups = Lookups(conn)
        rows = lookups.candidates(blocks, self.scorer.config.max_block_size)
        if not rows:
            return []
        known: dict[str, list[Demographics]] = {}
        first_record: dict[str, str] = {}
        for record_key, child_id, given, family, birth_date, sex, postcode in rows:
            first_record.setdefault(child_id, record_key)
            known.setdefault(child_id, []).append(Demographics(given, family, birth_date, sex, postcode))
        out = []
        for child_id, records in known.items():
            score = self.scorer.score_child(demo, records)
            if score is not None and score.band != "distinct":
                out.append(_Candidate(first_record[child_id], child_id, score))
        national = {system: value for system, value in keys if system in rules.PRIORITY}
        if national and out:  # asked only about children that could be linked or reviewed: most records have none
            held = lookups.national_identifiers(c.child_id for c in out)
            out = [c for c in out if not rules.other_national_identifier(national, held.get(c.child_id, set()))]
        return out

    def _best_candidate(self, conn: Connection, child_ids: list[str], demo: Demographics) -> _Candidate | None:
        rows = conn.execute(select(identity_records).where(identity_records.c.child_id.in_(child_ids)))
        cands = [_Candidate(r.record_key, r.child_id, self.scorer.score(demo, _demographics(r))) for r in rows]
        return max(cands, key=lambda c: c.score.total, default=None)

    # -- writes ------------------------------------------------------------------------------------------
    @staticmethod
    def _new_child_id() -> str:
        """A new child's id; its `children` row is written with its first record (`_store_record`), which
        follows in the same `resolve` call with nothing between that reads children."""
        return str(uuid.uuid4())

    @staticmethod
    def _review_status(conn: Connection, child_a: str, child_b: str) -> str | None:
        """`status:reason` (open:possible-twin, not-same:score, ...) when the pair was ever sent to review."""
        row = conn.execute(
            select(identity_reviews.c.status, identity_reviews.c.reason).where(
                identity_reviews.c.pair_key == rules.pair_key(child_a, child_b)
            )
        ).first()
        return f"{row.status}:{row.reason}" if row else None

    def _decided_distinct(self, conn: Connection, child_a: str, child_b: str) -> bool:
        return (self._review_status(conn, child_a, child_b) or "").startswith("not-same:")

    def _open_review(
        self,
        conn: Connection,
        child_a: str,
        child_b: str,
        record_a: str | None,
        record_b: str,
        reason: str,
        score: Score | None,
        now: datetime,
    ) -> None:
        detail: dict[str, Any] = {"config_version": self.scorer.config.version}
        if score is not None:
            detail["levels"] = score.levels
        insert_ignore(
            conn,
            identity_reviews,
            [
                {
                    "review_id": str(uuid.uuid4()),
                    "pair_key": rules.pair_key(child_a, child_b),
                    "child_a": child_a,
                    "child_b": child_b,
                    "record_a": record_a,
                    "record_b": record_b,
                    "reason": reason,
                    "score": round(score.total, 3) if score else None,
                    "detail": detail,
                    "status": "open",
                    "created_at": now,
                    "decided_at": None,
                    "decided_by": None,
                    "decision_reason": None,
                }
            ],
        )

    def _store_record(
        self,
        conn: Connection,
        resolution: Resolution,
        source_org: str,
        checked: rules.CheckedIdentifiers,
        demo: Demographics,
        now: datetime,
    ) -> None:
        row = {
            "record_key": resolution.record_key,
            "child_id": resolution.child_id,
            "source_org": source_org,
            "identifiers": [list(k) for k in checked.valid],
            "invalid_identifiers": [list(i) for i in checked.invalid],
            "given_name": demo.given_name[:100],
            "family_name": demo.family_name[:100],
            "birth_date": demo.birth_date,
            "sex": demo.sex,
            "postcode": demo.postcode[:10],
        }
        blocks = block_keys(demo, self.scorer.nicknames)
        Lookups(conn).insert_record(row, blocks, checked.valid, now, new_child=resolution.new_child)


def birth_date_of(value: Any) -> date | None:
    """Subjects from JSON sources carry ISO strings; Avro gives dates."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


_REGISTRIES: dict[int, Registry] = {}


def registry_for(deps: Any) -> Registry:
    """One registry per worker (hub.worker.app.WorkerDeps), re-projecting merged children with the worker's policy."""
    registry = _REGISTRIES.get(id(deps))
    if registry is None:
        registry = Registry.bundled(Reprojector(deps.codec, deps.policy, deps.rules))
        _REGISTRIES[id(deps)] = registry
    return registry


def follow_links(engine: Engine, events: Sequence[Any]) -> None:
    """Point events at the child that now holds their source record.

    An event resolved just before a merge or unmerge committed still carries the old child id when the
    projector reaches it; without this it would be stored under a retired child or the wrong one.
    """
    ids = [e["event_id"] for e in events]
    if not ids:
        return
    with engine.connect() as conn:
        rows = conn.execute(
            select(identity_event_links.c.event_id, identity_records.c.child_id)
            .join(identity_records, identity_records.c.record_key == identity_event_links.c.record_key)
            .where(identity_event_links.c.event_id.in_(ids))
        )
        current = {r.event_id: r.child_id for r in rows}
    for event in events:
        event["child_id"] = current.get(event["event_id"], event["child_id"])
