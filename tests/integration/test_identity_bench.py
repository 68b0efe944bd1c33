"""`onestory bench identity` on a small population: real registry on SQLite, reports written, figures sane."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import main

pytestmark = pytest.mark.integration


def test_bench_identity_prints_figures_and_writes_the_confusion_matrix(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["bench", "identity", "--children", "150", "--seed", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["precision"] >= 0.99 and figures["recall"] >= 0.9
    assert figures["twin_pairs_auto_linked"] == 0
    assert figures["records_per_s"] > 0 and "pairs_reviewed" in figures
    assert (tmp_path / "identity.json").exists() and (tmp_path / "identity-confusion.md").exists()
    assert "Precision" in (tmp_path / "identity-confusion.md").read_text()
    # the same-run baseline: exact identifiers alone are faster, and find fewer of the true links
    exact = figures["baseline_exact_identifiers"]
    assert exact["records_per_s"] > figures["records_per_s"] > 0
    assert exact["recall"] < figures["recall"] and figures["ratios"]["recall_vs_exact"] > 1
    assert "Baseline in the same run" in (tmp_path / "identity-confusion.md").read_text()
