"""The identity benchmark's same-run baseline: link records that share a valid NHS number or UPN, in memory.

It is the deterministic half of the registry with nothing else (no SQL, no scoring, no review queue): the
upper bound on speed, and the recall a hub gets from exact identifiers alone, against which the registry's
probabilistic matching is judged.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from connectors.identifiers import NHS_NUMBER_SYSTEM, UPN_SYSTEM, is_valid_nhs_number, is_valid_upn
from hub.synth import SourceRecord

_VALID = {NHS_NUMBER_SYSTEM: is_valid_nhs_number, UPN_SYSTEM: is_valid_upn}


def exact_links(records: Sequence[SourceRecord]) -> tuple[dict[str, str], float]:
    """record id → cluster id, and records per second. Union-find over valid shared identifiers."""
    t0 = time.perf_counter()
    parent = list(range(len(records)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[tuple[str, str], int] = {}
    for i, record in enumerate(records):
        for system, value in record.identifiers:
            valid = _VALID.get(system)
            if valid is None or not valid(value):
                continue
            j = owner.setdefault((system, value), i)
            parent[root(i)] = root(j)
    clusters = {r.record_id: str(root(i)) for i, r in enumerate(records)}
    return clusters, len(records) / (time.perf_counter() - t0)
