"""`onestory bench identity`: link a synthetic population through the real registry and score it.

Runs the SQL client registry (SQLite in a temporary directory by default, or --database) over every source
record in arrival order, batched like the identity agent, then compares the resulting children with the
ground truth. Prints JSON; writes the confusion matrix (JSON, Markdown and, with matplotlib, a PNG).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import make_url, select

from hub.bench.identity_baseline import exact_links
from hub.db.engine import make_engine
from hub.db.identity_tables import identity_records, identity_reviews
from hub.db.migrate import upgrade
from hub.synth import SourceRecord, generate_population, generate_records
from hub.synth.reference import Reference
from projections.identity import rules
from projections.identity.evaluation import Confusion, confusion, linked_pairs_between
from projections.identity.registry import Registry

BATCH = 2000


def _resolve_all(url: str, records: list[SourceRecord], registry: Registry) -> float:
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    for start in range(0, len(records), BATCH):
        with engine.begin() as conn:
            for record in records[start : start + BATCH]:
                registry.resolve(conn, record.subject(), record.organisation, now)
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return elapsed


def _read_back(url: str) -> tuple[dict[str, str], list[Any]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        child = {
            r.record_key: r.child_id
            for r in conn.execute(select(identity_records.c.record_key, identity_records.c.child_id))
        }
        reviews = list(
            conn.execute(select(identity_reviews.c.child_a, identity_reviews.c.child_b, identity_reviews.c.reason))
        )
    engine.dispose()
    return child, reviews


def _with_reviews_confirmed(truth: dict[str, int], predicted: dict[str, str], reviews: list[Any]) -> dict[str, str]:
    """What the clusters would be if a steward confirmed every review pair that truly is one child."""
    members: dict[str, set[int]] = {}
    for record, child in predicted.items():
        members.setdefault(child, set()).add(truth[record])
    parent = {c: c for c in members}

    def find(c: str) -> str:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for r in reviews:
        a, b = r.child_a, r.child_b
        if a in members and b in members and members[a] & members[b]:
            parent[find(a)] = find(b)
    return {record: find(child) for record, child in predicted.items()}


def _write_reports(out: Path, result: dict[str, Any], matrix: Confusion) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "identity.json", out / "identity-confusion.md"]
    written[0].write_text(json.dumps(result, indent=2) + "\n")
    m = matrix
    written[1].write_text(
        f"# Identity resolution: confusion matrix (record pairs)\n\n"
        f"`{result['command']}` on {result['machine']['cpus']} CPUs, Python {result['machine']['python']}, "
        f"{result['database']}, matching config {result['config_version']}.\n\n"
        f"| | same child (truth) | different children (truth) |\n|---|---:|---:|\n"
        f"| auto-linked | {m.true_positive:,} | {m.false_positive:,} |\n"
        f"| not linked | {m.false_negative:,} | {m.true_negative:,} |\n\n"
        f"Precision {result['precision']:.5f}, recall {result['recall']:.5f}; {result['pairs_reviewed']:,} pairs "
        f"went to review ({', '.join(f'{k}: {v}' for k, v in result['review_reasons'].items())}); with every review "
        f"pair decided correctly recall would be {result['recall_with_reviews']:.5f}. Twin pairs auto-linked: "
        f"{result['twin_pairs_auto_linked']} of {result['twin_pairs']}. {result['records_per_s']:,.0f} records/s.\n\n"
        f"Baseline in the same run, {result['baseline_exact_identifiers']['what']}: precision "
        f"{result['baseline_exact_identifiers']['precision']:.5f}, recall "
        f"{result['baseline_exact_identifiers']['recall']:.5f}, "
        f"{result['baseline_exact_identifiers']['records_per_s']:,.0f} records/s; twin pairs linked "
        f"{result['baseline_exact_identifiers']['twin_pairs_auto_linked']}.\n"
    )
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return [str(p) for p in written]
    fig, ax = plt.subplots(figsize=(5, 4))
    cells = [[m.true_positive, m.false_positive], [m.false_negative, m.true_negative]]
    ax.imshow([[1, 0], [0, 1]], cmap="Greens", vmin=-0.5, vmax=1.5)
    for i in range(2):
        for j in range(2):
            ax.text(j, i, f"{cells[i][j]:,}", ha="center", va="center")
    ax.set_xticks([0, 1], ["same child", "different"])
    ax.set_yticks([0, 1], ["auto-linked", "not linked"])
    ax.set_title(f"record pairs: precision {m.precision:.4f}, recall {m.recall:.4f}")
    fig.tight_layout()
    png = out / "identity-confusion.png"
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return [str(p) for p in [*written, png]]


@click.command()
@click.option("--children", type=click.IntRange(1), default=20000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--database", default=None, help="SQLAlchemy URL of an EMPTY database (default: temporary SQLite).")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("docs/benchmarks"), show_default=True
)
def identity(children: int, seed: int, database: str | None, out: Path) -> None:
    """Precision, recall, pairs reviewed and records/s of identity resolution on a synthetic population."""
    reference = Reference.bundled()
    population = generate_population(children, seed, reference=reference)
    records = generate_records(population, reference=reference)
    registry = Registry.bundled()
    with tempfile.TemporaryDirectory() as tmp:
        url = database or f"sqlite:///{Path(tmp) / 'identity-bench.db'}"
        elapsed = _resolve_all(url, records, registry)
        child_of_key, reviews = _read_back(url)
    truth = {r.record_id: r.child_index for r in records}
    predicted = {
        r.record_id: child_of_key[rules.record_key(r.organisation, r.subject()["identifiers"])] for r in records
    }
    matrix = confusion(truth, predicted)
    exact, exact_rate = exact_links(records)
    exact_matrix = confusion(truth, exact)
    result: dict[str, Any] = {
        "command": f"onestory bench identity --children {children} --seed {seed}",
        "children": children,
        "records": len(records),
        "seed": seed,
        "precision": round(matrix.precision, 6),
        "recall": round(matrix.recall, 6),
        "pairs_reviewed": len(reviews),
        "review_reasons": dict(Counter(r.reason for r in reviews).most_common()),
        "recall_with_reviews": round(confusion(truth, _with_reviews_confirmed(truth, predicted, reviews)).recall, 6),
        "twin_pairs": len(population.twins()),
        "twin_pairs_auto_linked": linked_pairs_between(population.twins(), truth, predicted),
        "records_per_s": round(len(records) / elapsed, 1),
        "seconds": round(elapsed, 2),
        "baseline_exact_identifiers": {
            "what": "records sharing a valid NHS number or UPN linked in memory (no SQL, no scoring)",
            "records_per_s": round(exact_rate, 1),
            "precision": round(exact_matrix.precision, 6),
            "recall": round(exact_matrix.recall, 6),
            "twin_pairs_auto_linked": linked_pairs_between(population.twins(), truth, exact),
        },
        "ratios": {
            "records_per_s_vs_exact": round(len(records) / elapsed / exact_rate, 6),
            "recall_vs_exact": round(matrix.recall / exact_matrix.recall, 4) if exact_matrix.recall else None,
        },
        "confusion": matrix.as_json(),
        "config_version": registry.scorer.config.version,
        "database": make_url(database).get_backend_name() if database else "sqlite (temporary file)",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    result["written"] = _write_reports(out, result, matrix)
    click.echo(json.dumps(result))
