"""`onestory synth` and the `make up` demo send only as organisations of the bundled directory, correctly typed:
so a hub running the default directory and policy accepts, types and shares everything they send."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from connectors.hl7v2.parse import normalise, read_header
from connectors.hl7v2.senders import sender
from hub.cli import main
from hub.directory_file import bundled_directory
from hub.region.story import stories
from hub.synth.organisations import ORGANISATION_TYPES, organisation
from hub.synth.records import ORGS_PER_KIND
from hub.synth.replay import requests


def test_every_record_organisation_is_a_directory_organisation_of_its_type() -> None:
    directory = bundled_directory()
    for kind, count in ORGS_PER_KIND.items():
        for n in range(count):
            org = organisation(f"{kind.upper()}{n:03d}")
            listing = directory.get(org.code)
            assert listing is not None, org
            assert listing.type == org.type == ORGANISATION_TYPES[kind] and listing.name == org.name


def test_every_code_synth_emits_is_in_the_directory_with_the_right_type(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["synth", "--children", "60", "--seed", "5", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    directory = bundled_directory()
    root = tmp_path / "sources"
    for org in json.loads((root / "organisations.json").read_text()):
        listing = directory.get(org["code"])
        assert listing is not None and listing.type == org["type"], org
    for request in requests(root):
        if request.source == "self-referral":
            continue
        assert request.org in directory, request.file
        if request.source == "hl7v2":
            assert sender(read_header(normalise(request.body)), directory).code == request.org
    assert {directory.get(r.org).type for r in requests(root) if r.source != "self-referral"} >= {  # type: ignore[union-attr]
        "gp-practice",
        "camhs",
        "school",
    }


def test_the_demo_sends_as_directory_organisations() -> None:
    """Every demo sender is in the bundled directory; HL7 senders are typed by their MSH-4 binding."""
    directory = bundled_directory()
    types = set()
    for delivery in stories(date(2026, 12, 6)):
        listing = directory.get(delivery.org)
        assert listing is not None, delivery.label
        types.add(listing.type)
        if delivery.channel == "mllp":
            assert sender(read_header(normalise(delivery.body)), directory) == listing
    assert types >= {"gp-practice", "camhs", "community-health", "school", "local-authority", "vcse", "hub"}
