"""`onestory orgs` with the MLLP sender binding: add binds a new sender, list shows it, check notes the unbound."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hub.commands.orgs import orgs
from hub.directory_file import load_directory

ADD = ["add", "--code", "A81007", "--system", "ods", "--type", "gp-practice", "--name", "Eastgate Surgery"]


def test_add_binds_the_new_sender_to_its_addresses_and_certificates(tmp_path: Path) -> None:
    path = tmp_path / "organisations.yaml"
    runner = CliRunner()
    bound = ["--hl7-facility", "EASTGATE-EMIS", "--mllp-address", "10.20.0.0/24", "--mllp-certificate", "eg.example"]
    result = runner.invoke(orgs, [*ADD, "--directory", str(path), *bound])
    assert result.exit_code == 0, result.output
    listing = load_directory(path).get("A81007")
    assert listing is not None and listing.mllp is not None
    assert listing.mllp.allows("10.20.0.7", "EG.example") and not listing.mllp.allows("10.20.1.7", "eg.example")
    assert path.read_text().startswith("# OneStory organisation directory")  # the bundled file's comments kept

    table = runner.invoke(orgs, ["list", "--directory", str(path)])
    row = next(line for line in table.output.splitlines() if line.startswith("A81007"))
    assert row.endswith("10.20.0.0/24, CN=eg.example")
    listed = json.loads(runner.invoke(orgs, ["list", "--json", "--directory", str(path)]).output)
    assert next(i for i in listed if i["code"] == "A81007")["mllp"] == {
        "addresses": ["10.20.0.0/24"],
        "certificates": ["eg.example"],
    }

    checked = runner.invoke(orgs, ["check", "--directory", str(path)])
    assert checked.exit_code == 0 and "note:" not in checked.output


def test_add_refuses_an_address_that_is_not_one(tmp_path: Path) -> None:
    path = tmp_path / "organisations.yaml"
    runner = CliRunner()
    result = runner.invoke(orgs, [*ADD, "--directory", str(path), "--mllp-address", "pas.example"])
    assert result.exit_code == 2 and "--mllp-address: 'pas.example' is not an IP address" in result.output
    result = runner.invoke(orgs, [*ADD, "--directory", str(path), "--mllp-certificate", " "])
    assert result.exit_code == 2 and "certificate CN cannot be empty" in result.output
    assert not path.exists()


def test_check_notes_a_sender_that_no_connection_may_send_for(tmp_path: Path) -> None:
    path = tmp_path / "organisations.yaml"
    runner = CliRunner()
    assert runner.invoke(orgs, [*ADD, "--directory", str(path), "--hl7-facility", "EASTGATE-EMIS"]).exit_code == 0
    checked = runner.invoke(orgs, ["check", "--directory", str(path)])
    assert checked.exit_code == 0, checked.output
    assert "note: 'A81007' sends HL7 but lists no mllp senders" in checked.output
