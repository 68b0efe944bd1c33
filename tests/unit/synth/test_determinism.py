"""`onestory synth` is deterministic by seed: the same seed writes identical bytes; another seed does not."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from hub.cli import main


def _run(out: Path, seed: int) -> dict[str, bytes]:
    result = CliRunner().invoke(main, ["synth", "--children", "120", "--seed", str(seed), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "summary.json"  # summary.json names the output folder
    }


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    one, two, other = _run(tmp_path / "a", 7), _run(tmp_path / "b", 7), _run(tmp_path / "c", 8)
    assert any(name.startswith("sources/hl7v2/") for name in one)
    assert one == two
    assert one["sources/manifest.json"] != other["sources/manifest.json"]


def test_no_sources_keeps_the_identity_files_only(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["synth", "--children", "30", "--seed", "2", "--no-sources", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "sources").exists() and (tmp_path / "records.jsonl").is_file()
