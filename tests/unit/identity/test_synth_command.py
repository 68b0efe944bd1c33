"""`onestory synth` writes the population, its records and a summary, the same for the same seed."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hub.cli import main


def test_synth_writes_truth_and_records(tmp_path: Path) -> None:
    runner = CliRunner()
    outputs = []
    for name in ("one", "two"):
        result = runner.invoke(main, ["synth", "--children", "60", "--seed", "4", "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        outputs.append((tmp_path / name / "records.jsonl").read_text())
    summary = json.loads((tmp_path / "one" / "summary.json").read_text())
    assert summary["children"] == 60 and summary["records"] > 60
    assert outputs[0] == outputs[1]
    first = json.loads(outputs[0].splitlines()[0])
    assert {"record_id", "child", "identifiers", "errors"} <= set(first)
    assert len((tmp_path / "one" / "children.jsonl").read_text().splitlines()) == 60
