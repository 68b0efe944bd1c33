"""The client registry: which child is this subject? SQL side effects around the pure scoring and rules.

Order of evidence: the same source record seen before → validated identifiers (NHS number, UPN, local ids)
→ probabilistic Fellegi–Sunter over blocked candidates. Conflicts (same NHS number with a different date of
birth, possible twins, identifiers pointing at two children that do not look alike) create a separate child
and a review item, never a link. Each event is linked to the source record it came through, so an unmerge
can move back exactly the right events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select, tuple_

from connectors.identifiers import NHS_NUMBER_SYSTEM
from hub.db.identity_tables import identity_blocks, identity_event_links, identity_records, identity_reviews
from hub.db.tables import child_identifiers, children
from hub.db.upsert import insert_ignore
from hub.events.model import Identifier, Subject
from projections.identity import rules
from projections.identity.blocking import block_keys
from projections.identity.compare import Demographics
from projections.identity.merging import Actor, current_child, lock_registry, merge_children
from projections.identity.scoring import Score, Scorer

REGISTRY_ACTOR = Actor(user="onestory-registry", organisation="onestory", source="registry")
MERGED_KIND = "patient.merged"


@dataclass
class Resolution:
    child_id: str
    record_key: str
    how: str  # record | identifier | score | new | conflict
    reviews: list[str] = field(default_factory=list)  # review reasons opened for this record


@dataclass(frozen=True)
class _Candidate:
    record_key: str
    child_id: str
    demographics: Demographics
    score: Score


def _demographics(row: Any) -> Demographics:
    return Demographics(row.given_name, row.family_name, row.birth_date, row.sex, row.postcode)


class Registry:
    """Stateless apart from configuration: every call works inside the caller's transaction."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer

    @classmethod
    def bundled(cls) -> Registry:
        return cls(Scorer.bundled())

    # -- entry points ------------------------------------------------------------------------------------
    def resolve_event(self, conn: Connection, event: dict[str, Any], now: datetime) -> str:
        """The identity agent's call: child id for an intake event; an ADT^A40 merge is applied on the way."""
        org = event["source"]["organisation"]
        resolution = self.resolve(conn, event["subject"], org, now)
        insert_ignore(
            conn, identity_event_links, [{"event_id": event["event_id"], "record_key": resolution.record_key}]
        )
        if event.get("kind") == MERGED_KIND:
            payload = event["payload"][1] if isinstance(event.get("payload"), tuple) else {}
            self.apply_source_merge(
                conn, resolution.child_id, payload.get("retired_identifiers") or [], org, payload.get("reason"), now
            )
        return current_child(conn, resolution.child_id)

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
        found = conn.execute(
            select(child_identifiers.c.child_id).where(
                tuple_(child_identifiers.c.system, child_identifiers.c.value).in_(keys)
            )
        ).scalars()
        actor = Actor(user=f"adt-a40:{org}", organisation=org, source="adt-a40")
        return [
            merge_children(conn, surviving, retired, actor, reason or "ADT^A40 merge", now)
            for retired in sorted(set(found))
            if current_child(conn, retired) != current_child(conn, surviving)
        ]

    def resolve(self, conn: Connection, subject: Subject, source_org: str, now: datetime) -> Resolution:
        lock_registry(conn)
        if not subject["identifiers"]:
            raise ValueError("subject has no identifier: a source record must say which record it is")
        rkey = rules.record_key(source_org, subject["identifiers"])
        known = conn.execute(select(identity_records.c.child_id).where(identity_records.c.record_key == rkey)).scalar()
        if known is not None:
            return Resolution(current_child(conn, known), rkey, "record")
        checked = rules.check_identifiers(subject["identifiers"])
        demo = Demographics.of(
            subject.get("given_name"),
            subject.get("family_name"),
            birth_date_of(subject.get("birth_date")),
            subject.get("sex"),
            subject.get("postcode"),
        )
        found = self._children_by_identifier(conn, checked.valid)
        if found:
            resolution = self._resolve_by_identifier(conn, rkey, checked.valid, found, demo, now)
        else:
            resolution = self._resolve_by_score(conn, rkey, checked.valid, demo, now)
        self._store_record(conn, resolution, source_org, checked, demo, now)
        return resolution

    # -- deterministic -----------------------------------------------------------------------------------
    @staticmethod
    def _children_by_identifier(conn: Connection, keys: list[rules.Key]) -> dict[rules.Key, str]:
        if not keys:
            return {}
        rows = conn.execute(
            select(child_identifiers.c.system, child_identifiers.c.value, child_identifiers.c.child_id).where(
                tuple_(child_identifiers.c.system, child_identifiers.c.value).in_(keys)
            )
        )
        return {(r.system, r.value): r.child_id for r in rows}

    def _resolve_by_identifier(
        self,
        conn: Connection,
        rkey: str,
        keys: list[rules.Key],
        found: dict[rules.Key, str],
        demo: Demographics,
        now: datetime,
    ) -> Resolution:
        ordered = list(dict.fromkeys(found[k] for k in keys if k in found))
        primary = ordered[0]
        nhs = rules.nhs_number(keys)
        if nhs and (NHS_NUMBER_SYSTEM, nhs) in found:
            nhs_child = found[(NHS_NUMBER_SYSTEM, nhs)]
            dates = conn.execute(
                select(identity_records.c.birth_date).where(identity_records.c.child_id == nhs_child)
            ).scalars()
            if rules.nhs_dob_conflict(dates, demo.birth_date):
                child = self._new_child(conn, now)
                self._open_review(conn, nhs_child, child, None, rkey, "nhs-dob-conflict", None, now)
                return Resolution(child, rkey, "conflict", ["nhs-dob-conflict"])
        resolution = Resolution(primary, rkey, "identifier")
        for other in ordered[1:]:
            self._bridge(conn, resolution, other, demo, now)
        return resolution

    def _bridge(self, conn: Connection, resolution: Resolution, other: str, demo: Demographics, now: datetime) -> None:
        """Validated identifiers on one record point at two children: merge only if they also look alike."""
        best = self._best_candidate(conn, [other], demo)
        twin = best is not None and rules.possible_twin(best.score.levels)
        plausible = best is not None and best.score.total >= self.scorer.config.review_threshold
        if plausible and not twin and not self._decided_distinct(conn, resolution.child_id, other):
            merge_children(conn, resolution.child_id, other, REGISTRY_ACTOR, "identifiers on one record", now)
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
        candidates = self._candidates(conn, demo, rules.nhs_number(keys))
        best: dict[str, _Candidate] = {}
        for cand in candidates:
            if cand.child_id not in best or cand.score.total > best[cand.child_id].score.total:
                best[cand.child_id] = cand
        ranked = sorted(best.values(), key=lambda c: -c.score.total)
        for cand in ranked:
            if cand.score.band == "link" and not rules.possible_twin(cand.score.levels):
                return Resolution(cand.child_id, rkey, "score")
        child = self._new_child(conn, now)
        resolution = Resolution(child, rkey, "new")
        for cand in ranked:
            if cand.score.band == "distinct":
                break
            reason = "possible-twin" if rules.possible_twin(cand.score.levels) else "score"
            self._open_review(conn, cand.child_id, child, cand.record_key, rkey, reason, cand.score, now)
            resolution.reviews.append(reason)
        return resolution

    def _candidates(self, conn: Connection, demo: Demographics, nhs: str | None) -> list[_Candidate]:
        keys = block_keys(demo, self.scorer.nicknames)
        if not keys:
            return []
        limit = self.scorer.config.max_block_size
        sizes = conn.execute(
            select(identity_blocks.c.block_key, identity_blocks.c.record_key).where(
                identity_blocks.c.block_key.in_(keys)
            )
        )
        by_block: dict[str, list[str]] = {}
        for r in sizes:
            by_block.setdefault(r.block_key, []).append(r.record_key)
        record_keys = {rk for members in by_block.values() if len(members) <= limit for rk in members}
        if not record_keys:
            return []
        rows = list(conn.execute(select(identity_records).where(identity_records.c.record_key.in_(record_keys))))
        other_nhs: dict[str, set[str]] = {}
        if nhs:
            ids = conn.execute(
                select(child_identifiers.c.child_id, child_identifiers.c.value).where(
                    child_identifiers.c.system == NHS_NUMBER_SYSTEM,
                    child_identifiers.c.child_id.in_({r.child_id for r in rows}),
                )
            )
            for r in ids:
                other_nhs.setdefault(r.child_id, set()).add(r.value)
        out = []
        for row in rows:
            if nhs and other_nhs.get(row.child_id, set()) - {nhs}:
                continue  # both validated, different NHS numbers: different children
            d = _demographics(row)
            out.append(_Candidate(row.record_key, row.child_id, d, self.scorer.score(demo, d)))
        return out

    def _best_candidate(self, conn: Connection, child_ids: list[str], demo: Demographics) -> _Candidate | None:
        rows = conn.execute(select(identity_records).where(identity_records.c.child_id.in_(child_ids)))
        cands = [
            _Candidate(r.record_key, r.child_id, _demographics(r), self.scorer.score(demo, _demographics(r)))
            for r in rows
        ]
        return max(cands, key=lambda c: c.score.total, default=None)

    # -- writes ------------------------------------------------------------------------------------------
    @staticmethod
    def _new_child(conn: Connection, now: datetime) -> str:
        child_id = str(uuid.uuid4())
        conn.execute(children.insert().values(child_id=child_id, created_at=now))
        return child_id

    @staticmethod
    def _decided_distinct(conn: Connection, child_a: str, child_b: str) -> bool:
        status = conn.execute(
            select(identity_reviews.c.status).where(identity_reviews.c.pair_key == rules.pair_key(child_a, child_b))
        ).scalar()
        return status == "not-same"

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
        child = resolution.child_id
        conn.execute(
            identity_records.insert().values(
                record_key=resolution.record_key,
                child_id=child,
                source_org=source_org,
                identifiers=[list(k) for k in checked.valid],
                invalid_identifiers=[list(i) for i in checked.invalid],
                given_name=demo.given_name[:100],
                family_name=demo.family_name[:100],
                birth_date=demo.birth_date,
                sex=demo.sex,
                postcode=demo.postcode[:10],
                first_seen=now,
            )
        )
        insert_ignore(
            conn,
            identity_blocks,
            [{"block_key": k, "record_key": resolution.record_key} for k in block_keys(demo, self.scorer.nicknames)],
        )
        # Identifiers already held by another child (a conflict) stay with that child.
        insert_ignore(
            conn,
            child_identifiers,
            [{"system": s, "value": v, "child_id": child, "linked_at": now} for s, v in checked.valid],
        )


def birth_date_of(value: Any) -> date | None:
    """Subjects from JSON sources carry ISO strings; Avro gives dates."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
