"""`onestory policy check|explain|diff|render` and `onestory bench consent`, through click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from hub.commands import bench as bench_module
from hub.commands.bench import bench
from hub.commands.policy import policy
from hub.policy_files import default_policy_text, load_policy

from .builders import MINI, MINI_DIRECTORY, MINI_DIRECTORY_TEXT, ROOT, default_text
from .test_consent_tools import SCENARIO

DEFAULT = str(ROOT / "consent_engine" / "policies" / "default.yaml")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def mini(tmp_path: Path) -> str:
    path = tmp_path / "mini.yaml"
    path.write_text(MINI, encoding="utf-8")
    return str(path)


@pytest.fixture
def mini_dir(tmp_path: Path) -> str:
    path = tmp_path / "mini-directory.yaml"
    path.write_text(MINI_DIRECTORY_TEXT, encoding="utf-8")
    return str(path)


def test_load_policy_defaults_to_the_bundled_policy(mini: str) -> None:
    assert default_policy_text() == default_text()
    assert load_policy().digest == load_policy(DEFAULT).digest
    assert load_policy(Path(mini), MINI_DIRECTORY).source == mini


def test_check_passes_good_policies(runner: CliRunner, mini: str, mini_dir: str) -> None:
    result = runner.invoke(policy, ["check", mini, "--directory", mini_dir])
    assert result.exit_code == 0, result.output
    assert f"{mini}: ok with {mini_dir} (4 organisations; sha256 " in result.output
    assert runner.invoke(policy, ["check"]).output.startswith("consent_engine/policies/default.yaml: ok")


def test_check_fails_bad_policies_naming_the_line(runner: CliRunner, tmp_path: Path, mini: str, mini_dir: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINI.replace("      full: [attendance]", "      full: [attendance, maths]"), encoding="utf-8")
    line = MINI.splitlines().index("      full: [attendance]") + 1
    result = runner.invoke(policy, ["check", mini, str(bad), "--directory", mini_dir])
    assert result.exit_code == 1
    assert f"{bad}:{line}: unknown category 'maths'" in result.output


def test_render_prints_the_docs(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(policy, ["render", DEFAULT])
    assert result.exit_code == 0
    assert result.output == (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\n", encoding="utf-8")
    failed = runner.invoke(policy, ["render", str(bad)])
    assert failed.exit_code == 1 and f"{bad}:1: the policy needs 'purposes'" in failed.output


EXPLAIN = [
    "explain",
    "--viewer-role",
    "teacher",
    "--viewer-org",
    "100001",
    "--category",
    "mental-health",
    "--source-org",
    "RX4",
    "--label",
    "PSY",
    "--now",
    "2026-05-01T12:00:00Z",
    "--consent",
    "id=C1,status=given,by=young-person,competent=yes,organisation-types=school+camhs,"
    "categories=mental-health,purposes=direct-care,recorded-at=2026-01-01T00:00:00Z,end=",
    "--relationship",
    "organisation=100001,start=2025-09-01T00:00:00Z",
]


def test_explain_with_flags(runner: CliRunner) -> None:
    result = runner.invoke(policy, EXPLAIN)
    assert result.exit_code == 0, result.output
    assert "practitioner sees: A record exists. Contact Northshire CAMHS" in result.output
    assert "level: flag" in result.output and "[consent:C1]" in result.output
    as_json = json.loads(runner.invoke(policy, [*EXPLAIN, "--json"]).output)
    assert as_json["level"] == "flag" and as_json["basis"] == "consent:C1"


def test_explain_break_glass_and_lawful_basis(runner: CliRunner) -> None:
    args = [
        "explain",
        "--viewer-role",
        "social-worker",
        "--viewer-org",
        "990",
        "--purpose",
        "safeguarding",
        "--category",
        "mental-health",
        "--source-org",
        "A81001",
        "--basis",
        "lawful-basis",
        "--basis-ref",
        "safeguarding",
        "--decision-maker",
        "Jo Bloggs",
        "--basis-reason",
        "risk of harm",
        "--child",
        "c1",
        "--break-glass",
        "reason=urgent-safeguarding,justification=at risk tonight,child-id=c1,"
        "starts-at=2026-05-01T11:00:00Z,expires-at=2026-05-01T13:00:00Z,categories=*",
        "--now",
        "2026-05-01T12:00:00Z",
        "--json",
    ]
    data = json.loads(runner.invoke(policy, args).output)
    assert data["level"] == "summary" and data["alert"] is True
    assert "break-glass:urgent-safeguarding" in data["matched_rules"]


def test_explain_with_a_scenario_file(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(SCENARIO), encoding="utf-8")
    result = runner.invoke(policy, ["explain", "--scenario", str(path), "--policy", DEFAULT])
    assert result.exit_code == 0, result.output
    assert "level: full" in result.output and "alert: yes" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["explain", "--viewer-role", "gp"], "--viewer-org, --category, --source-org"),
        ([*EXPLAIN, "--consent", "status"], "expected key=value"),
        ([*EXPLAIN, "--consent", "id=C2,status=given,by=robot,recorded-at=2026-01-01T00:00:00Z"], "robot"),
        ([*EXPLAIN[:-2], "--relationship", "organisation=100001,start=yesterday"], "not an ISO 8601 time"),
        ([*EXPLAIN[:-6], "--now", "2026-05-01"], "timezone-aware"),
    ],
)
def test_explain_usage_errors(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(policy, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_explain_bad_scenario_file(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text("now: 2026-05-01T12:00:00Z\nviewer: {}\n", encoding="utf-8")
    result = runner.invoke(policy, ["explain", "--scenario", str(path)])
    assert result.exit_code == 2 and "scenario needs 'entry'" in result.output


def test_diff_generated(runner: CliRunner, tmp_path: Path, mini: str, mini_dir: str) -> None:
    new = tmp_path / "new.yaml"
    new.write_text(
        MINI.replace("      flag: [mental-health]\n", "").replace('version: "1"', 'version: "2"'), encoding="utf-8"
    )
    result = runner.invoke(policy, ["diff", mini, str(new), "--now", "2026-05-01T12:00:00Z", "--directory", mini_dir])
    assert result.exit_code == 0, result.output
    assert "(1) ->" in result.output and "(2):" in result.output and "0 wider" in result.output
    teacher = next(line for line in result.output.splitlines() if line.startswith("teacher "))
    assert int(teacher.split()[2]) > 0
    assert "teacher (direct-care," in result.output and "flag -> none" in result.output
    data = json.loads(runner.invoke(policy, ["diff", mini, str(new), "--json", "--directory", mini_dir]).output)
    assert data["narrowed"] > 0 and data["widened"] == 0


def test_diff_with_entries(runner: CliRunner, tmp_path: Path, mini: str, mini_dir: str) -> None:
    entries = tmp_path / "entries.json"
    entries.write_text(
        json.dumps([{"entry": {"id": "e1", "child_id": "c1", "source_organisation": "GP1", "category": "attendance"}}]),
        encoding="utf-8",
    )
    result = runner.invoke(policy, ["diff", mini, mini, "--entries", str(entries), "--json", "--directory", mini_dir])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["changed"] == 0
    entries.write_text(json.dumps({"entry": {}}), encoding="utf-8")
    diff = ["diff", mini, mini, "--entries", str(entries), "--directory", mini_dir]
    assert "must hold a list" in runner.invoke(policy, diff).output
    entries.write_text(json.dumps([{"entry": {"id": "e1"}}]), encoding="utf-8")
    failed = runner.invoke(policy, diff)
    assert failed.exit_code == 2 and "entries[0].entry" in failed.output


def test_bench_consent(runner: CliRunner) -> None:
    result = runner.invoke(bench, ["consent", "--seconds", "0.2", "--children", "3", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["decisions_per_second"] > 0 and data["baseline_per_second"] > data["decisions_per_second"]
    assert 0 < data["ratio_to_baseline"] < 1 and data["machine"]["cpu_count"] >= 1
    assert sum(data["levels"].values()) == data["inputs"] == 75
    text = runner.invoke(bench, ["consent", "--seconds", "0.1", "--children", "2", "--policy", DEFAULT]).output
    assert "decisions/s on one core" in text and "baseline" in text


def test_bench_group_is_lazy(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "consent" in runner.invoke(bench, ["--help"]).output
    assert runner.invoke(bench, ["nothing"]).exit_code == 2

    @click.command("extra")
    def extra() -> None:
        click.echo("extra ran")

    bench.add_command(extra)
    try:
        assert runner.invoke(bench, ["extra"]).output == "extra ran\n"
        monkeypatch.setitem(bench_module._BENCHES, "broken", "hub.commands.bench:_BENCHES")
        assert "is not a click command" in runner.invoke(bench, ["broken"]).output
    finally:
        bench.commands.pop("extra")
