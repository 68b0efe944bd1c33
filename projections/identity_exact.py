"""Which child is this? The walking skeleton's exact linking: validated identifiers only, NHS number first.

The identity-resolution issue replaces this with a client registry (probabilistic scoring, review queue,
merge/unmerge). What stays true: an identifier that failed validation is never used to link.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection, select, tuple_

from connectors.identifiers import NHS_NUMBER_SYSTEM
from hub.db.tables import child_identifiers, children
from hub.db.upsert import insert_ignore
from hub.events.model import Subject


def link_keys(subject: Subject) -> list[tuple[str, str]]:
    """Validated identifiers in linking priority: NHS number, then organisation-scoped local ids."""
    valid = [(i["system"], i["value"]) for i in subject["identifiers"] if i["validated"]]
    return sorted(valid, key=lambda key: key[0] != NHS_NUMBER_SYSTEM)


def resolve_child(conn: Connection, subject: Subject, now: datetime) -> str:
    """Return the hub child id for the subject, creating the child and recording any new identifiers."""
    keys = link_keys(subject)
    if not keys:
        raise ValueError("subject has no validated identifier to link on")
    rows = conn.execute(
        select(child_identifiers.c.system, child_identifiers.c.value, child_identifiers.c.child_id).where(
            tuple_(child_identifiers.c.system, child_identifiers.c.value).in_(keys)
        )
    )
    found = {(r.system, r.value): r.child_id for r in rows}
    child_id = next((found[k] for k in keys if k in found), None)
    if child_id is None:
        child_id = str(uuid.uuid4())
        insert_ignore(conn, children, [{"child_id": child_id, "created_at": now}])
    new = [{"system": s, "value": v, "child_id": child_id, "linked_at": now} for s, v in keys if (s, v) not in found]
    insert_ignore(conn, child_identifiers, new)
    if new:
        # Another worker may have linked the same identifier first: theirs wins, we follow it.
        winner = conn.execute(
            select(child_identifiers.c.child_id).where(
                child_identifiers.c.system == keys[0][0], child_identifiers.c.value == keys[0][1]
            )
        ).scalar_one()
        child_id = str(winner)
    return child_id


def resolve_children(conn: Connection, subjects: list[Subject], now: datetime) -> list[str]:
    """resolve_child for a whole batch in a handful of queries (the per-event version costs a query each).

    Same rules: validated identifiers only, NHS number first; subjects in the batch that share an identifier
    resolve to the same child; a concurrent worker that linked an identifier first wins.
    """
    keys_per = [link_keys(s) for s in subjects]
    if any(not keys for keys in keys_per):
        raise ValueError("subject has no validated identifier to link on")
    wanted = {k for keys in keys_per for k in keys}
    found = _lookup(conn, wanted)
    batch_new: dict[tuple[str, str], str] = {}
    new_children: list[dict[str, object]] = []
    new_links: list[dict[str, object]] = []
    for keys in keys_per:
        child_id = next((found.get(k) or batch_new.get(k) for k in keys if found.get(k) or batch_new.get(k)), None)
        if child_id is None:
            child_id = str(uuid.uuid4())
            new_children.append({"child_id": child_id, "created_at": now})
        for k in keys:
            if k not in found and k not in batch_new:
                batch_new[k] = child_id
                new_links.append({"system": k[0], "value": k[1], "child_id": child_id, "linked_at": now})
    insert_ignore(conn, children, new_children)
    if new_links and insert_ignore(conn, child_identifiers, new_links) < len(new_links):
        found = _lookup(conn, wanted)  # someone else linked some first: follow theirs
    else:
        found.update(batch_new)
    return [next(found[k] for k in keys if k in found) for keys in keys_per]


def _lookup(conn: Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    result: dict[tuple[str, str], str] = {}
    ordered = sorted(keys)
    for i in range(0, len(ordered), 500):  # keep the IN list within every backend's parameter limit
        rows = conn.execute(
            select(child_identifiers.c.system, child_identifiers.c.value, child_identifiers.c.child_id).where(
                tuple_(child_identifiers.c.system, child_identifiers.c.value).in_(ordered[i : i + 500])
            )
        )
        result.update({(r.system, r.value): r.child_id for r in rows})
    return result
