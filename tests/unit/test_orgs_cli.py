"""`onestory orgs list|add|check` through click's test runner, on temporary directory files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.commands.orgs import orgs
from hub.directory_file import load_directory


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_list_shows_the_bundled_directory(runner: CliRunner) -> None:
    result = runner.invoke(orgs, ["list"], env={"ONESTORY_DIRECTORY_FILE": None})
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split()[:4] == ["code", "code", "system", "type"]
    assert any(row.split()[:3] == ["A81001", "ods", "gp-practice"] for row in rows)
    assert any(row.split()[:3] == ["100001", "urn", "school"] for row in rows)
    assert rows[-1].startswith("18 organisations in consent_engine/policies/organisations.yaml")
    listed = json.loads(runner.invoke(orgs, ["list", "--json"], env={"ONESTORY_DIRECTORY_FILE": None}).output)
    council = next(item for item in listed if item["code"] == "990")
    assert council["code_system"] == "urn:onestory:code-system:dfe-la-code" and council["type"] == "local-authority"


def test_add_appends_a_validated_organisation_keeping_comments(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "organisations.yaml"
    add = ["add", "--directory", str(path), "--code", "A81007", "--system", "ods", "--type", "gp-practice"]
    result = runner.invoke(orgs, [*add, "--name", "Eastgate Surgery", "--hl7-facility", "EASTGATE-EMIS"])
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert text.startswith("# OneStory organisation directory") and "name: Eastgate Surgery" in text
    directory = load_directory(path)
    assert len(directory) == 19 and directory.by_hl7_facility("eastgate-emis") == directory.get("A81007")

    again = runner.invoke(orgs, [*add, "--name", "Again"])
    assert again.exit_code == 2 and "organisation 'A81007' is already in" in again.output
    school = ["add", "--directory", str(path), "--system", "urn", "--type", "school", "--name", "S"]
    assert (
        "'12345' is not a valid DfE school URN: expected 6 digits"
        in runner.invoke(orgs, [*school, "--code", "12345"]).output
    )
    academy = runner.invoke(orgs, [*school, "--code", "100009", "--type", "academy"])
    assert academy.exit_code == 2 and "unknown organisation type 'academy'" in academy.output
    clash = runner.invoke(orgs, [*school, "--code", "100009", "--hl7-facility", "riverside-emis"])
    assert "HL7 sending facility 'riverside-emis' already identifies 'A81001'" in clash.output
    twice = runner.invoke(orgs, [*school, "--code", "100009", "--hl7-facility", "X1", "--hl7-facility", "x1"])
    assert "given twice" in twice.output
    charity = ["add", "--directory", str(path), "--system", "charity", "--type", "vcse", "--name", "Y", "--code"]
    assert "6 to 8 digits" in runner.invoke(orgs, [*charity, "12345"]).output
    assert runner.invoke(orgs, [*charity, "1190002"]).exit_code == 0
    assert runner.invoke(orgs, ["check", "--directory", str(path)]).exit_code == 0


def test_add_needs_the_operators_own_file(runner: CliRunner) -> None:
    result = runner.invoke(
        orgs,
        ["add", "--code", "A81007", "--system", "ods", "--type", "gp-practice", "--name", "X"],
        env={"ONESTORY_DIRECTORY_FILE": None},
    )
    assert result.exit_code == 2 and "give --directory FILE" in result.output


def test_add_rewrites_a_flow_style_file(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text('{organisations: [{code: "990", code_system: la, type: local-authority, name: Council}]}\n')
    result = runner.invoke(
        orgs,
        [
            "add",
            "--directory",
            str(path),
            "--code",
            "991",
            "--system",
            "la",
            "--type",
            "local-authority",
            "--name",
            "N",
        ],
    )
    assert result.exit_code == 0, result.output
    assert [listing.code for listing in load_directory(path)] == ["990", "991"]


def test_check_names_each_problem_and_its_line(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "organisations:\n"
        "  - {code: A81001, code_system: ods, type: gp-practice, name: Riverside}\n"
        "  - {code: RX1, code_system: ods, type: hospital, name: Trust}\n"
        "  - {code: '12', code_system: urn, type: school, name: School}\n"
    )
    result = runner.invoke(orgs, ["check", "--directory", str(path)])
    assert result.exit_code == 1
    assert f"{path}:4: '12' is not a valid DfE school URN: expected 6 digits" in result.output
    assert (
        f"{path}:3: organisation 'RX1' (Trust) has type 'hospital', which the policy does not define" in result.output
    )
    ok = runner.invoke(orgs, ["check"], env={"ONESTORY_DIRECTORY_FILE": None})
    assert ok.exit_code == 0 and "18 organisations, every type defined by" in ok.output
    missing = runner.invoke(orgs, ["list", "--directory", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "no directory file at" in missing.output
    assert runner.invoke(orgs, ["list", "--directory", str(path)]).exit_code == 1
