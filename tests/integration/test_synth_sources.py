"""A small synthetic region through the real transports of a running hub: HL7 v2 over the MLLP listener,
FHIR, school CSV, social care and VCSE JSON and self-referral forms over the HTTP intake routes with each
organisation's system token. Every event the manifest expects reaches the event store, and identity
resolution puts each on the right child (checked against the generator's ground truth).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.synth import generate_population, generate_records
from hub.synth import sources as synth_sources
from hub.synth.replay import run_pure, send
from tests.integration.connectors_helpers import engine_for, stored, wait_for
from tests.support.hub_process import RunningHub

pytestmark = pytest.mark.integration
# 30 children, seed 3: every source has items, hospitals send ADT, and some pupils have no UPN.
CHILDREN, SEED = 30, 3


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_synthetic_region_reaches_the_event_store_on_the_right_children(
    running_hub: RunningHub, database_url: str, tmp_path: Path
) -> None:
    hub = running_hub
    population = generate_population(CHILDREN, SEED, 1)
    built = synth_sources.build(population, generate_records(population), SEED, keep_items=True)
    manifest = synth_sources.write(built, population, SEED, tmp_path)
    root = tmp_path / "sources"

    report = send(
        root,
        hub.api,
        (hub.mllp_host, hub.mllp_port),
        lambda org: hub.token(user=f"synth-{org}", org=org, role="system"),
    )
    for source, part in manifest["sources"].items():
        # HL7 counts accepted messages (an ACK names no event ids): one event each
        assert report.accepted[source] == sum(part["events"].values()), source
        assert report.refused[source] == part["rejected_items"], source
    assert report.refused["education"] > 0  # the pupils without a UPN were refused, row by row

    # Event id -> the child it is really about. HL7 event ids depend only on the message, so the pure mapping
    # gives the ids the hub made; the HTTP replies list theirs in order.
    pure = run_pure(root, datetime.now(UTC))
    truth: dict[str, int] = {}
    for path in built.file_source:
        source = path.split("/")[0]
        items = built.item_order(path)
        if source in ("hl7v2", "fhir", "self-referral"):
            for i, item in enumerate(items):
                ids = (pure.event_ids if source == "hl7v2" else report.event_ids).get((path, i), [])
                assert len(ids) == len(item.kinds), (path, i)
                truth.update(dict.fromkeys(ids, item.child))
        else:
            ids = iter(report.event_ids[(path, 0)])
            for item in items:
                for _ in item.kinds:
                    truth[next(ids)] = item.child
            assert next(ids, None) is None
    assert len(truth) == sum(manifest["events"].values())

    engine = engine_for(database_url)
    wanted = list(truth)

    def all_resolved() -> dict[str, dict[str, object]] | None:
        rows = stored(engine, wanted)
        return rows if len(rows) == len(wanted) and all(r["child_id"] for r in rows.values()) else None

    rows = wait_for(all_resolved, 180, "every synthetic event in the event store with a child")
    engine.dispose()

    true_children_of: dict[str, set[int]] = defaultdict(set)
    hub_children_of: dict[int, Counter[str]] = defaultdict(Counter)
    for event_id, row in rows.items():
        true_children_of[str(row["child_id"])].add(truth[event_id])
        hub_children_of[truth[event_id]][str(row["child_id"])] += 1
    # never two real children on one hub child
    assert all(len(children) == 1 for children in true_children_of.values())
    # nearly every event on its child's main record (thin VCSE records may wait for a steward's review)
    on_main = sum(c.most_common(1)[0][1] for c in hub_children_of.values())
    split = sum(len(c) > 1 for c in hub_children_of.values())
    print(f"{len(rows)} events, {on_main / len(rows):.3f} on the child's main record, {split} children split")
    assert on_main / len(rows) >= 0.95, on_main / len(rows)
    assert len(hub_children_of) == len({item.child for item in built.items.values() if item.kinds})
