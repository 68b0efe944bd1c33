"""synth reads its data files when a region is built, from what the caller loaded, never at import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hub.synth import generate_population, generate_records
from hub.synth import sources as synth_sources
from hub.synth.reference import Reference

ROOT = Path(__file__).resolve().parents[3]
MODULES = [f"hub.synth.{p.stem}" for p in sorted((ROOT / "hub/synth").glob("*.py")) if p.stem != "__init__"]

PROBE = """
import sys
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
import {modules}
print([path for path in opened if path.endswith((".yaml", ".yml", ".json"))])
"""


def test_importing_synth_and_the_view_alerts_reads_no_data_file() -> None:
    modules = ", ".join([*MODULES, "hub.outbound.views"])
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(modules=modules)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"


def test_a_region_built_from_a_loaded_reference_is_the_default_region() -> None:
    reference = Reference.bundled()
    population = generate_population(12, 4, reference=reference)
    records = generate_records(population, reference=reference)
    given = synth_sources.build(population, records, 4, reference=reference)
    default = synth_sources.build(generate_population(12, 4), generate_records(generate_population(12, 4)), 4)
    assert given.entries == default.entries
    assert synth_sources.organisations_json(given) == synth_sources.organisations_json(default)
    assert synth_sources.organisations_json(given)  # every sending organisation has its directory entry
