"""`onestory bench connectors` on a tiny synthetic region: every source is measured through the real
connectors, the figures add up, and the report is written."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hub.commands.bench_connectors import connectors


def test_a_tiny_region_measures_every_source_beside_the_encode_baseline(tmp_path: Path) -> None:
    result = CliRunner().invoke(connectors, ["--children", "40", "--seed", "32", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout[result.stdout.index("{") :])
    sources = figures["sources"]
    assert {"hl7v2", "fhir", "education", "social-care", "vcse"} <= set(sources)
    for name, s in sources.items():
        assert s["requests"] > 0 and s["cpu_s"] > 0, name
        assert s["events"] == sum(s["top_kinds"].values()) or len(s["top_kinds"]) == 3, name
    assert figures["total"]["events"] == sum(s["events"] for s in sources.values()) > 0
    assert figures["baseline"]["avro_encode_events_per_cpu_s"] > figures["total"]["events_per_cpu_s"] > 0
    assert set(figures["ratios"]) == set(sources)
    md = (tmp_path / "connectors.md").read_text()
    assert "| hl7v2 |" in md and (tmp_path / "connectors.png").stat().st_size > 0
