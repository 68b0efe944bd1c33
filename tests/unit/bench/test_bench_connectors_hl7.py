"""`onestory bench connectors`' HL7 v2 figure: per message, beside the path before issue 20 measured in the same
run on the same messages (which must give the same events), and the report says so."""

from __future__ import annotations

from pathlib import Path

from hub.bench.connectors import run, write_region, write_report


def test_hl7_is_reported_per_message_beside_hl7apy_in_full(tmp_path: Path) -> None:
    root = write_region(12, 32, 1, tmp_path)
    results = run(root, lambda _: None, lambda _name, _total: lambda _done: None)
    hl7 = results["hl7v2"]
    assert hl7["messages"] == results["sources"]["hl7v2"]["requests"] > 0
    assert hl7["same_events"] is True
    assert hl7["answered_from_memory"] + hl7["new_segments_parsed"] + hl7["checked_in_full"] == hl7["messages"]
    assert 0 < hl7["message_shapes"] <= hl7["checked_in_full"] < hl7["messages"]  # the memory answered some
    assert hl7["in_full"]["messages_per_cpu_s"] > 0 and hl7["warm"]["messages_per_cpu_s"] > 0
    assert hl7["ratios"]["to_in_full"] == hl7["messages_per_cpu_s"] / hl7["in_full"]["messages_per_cpu_s"]
    md = write_report(results, tmp_path / "out", "onestory bench connectors").read_text()
    assert "## HL7 v2 per message" in md and "hl7apy in full for every message (before)" in md
    assert "Both paths give the same events: yes" in md
