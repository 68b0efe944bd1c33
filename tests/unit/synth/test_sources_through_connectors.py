"""Every emitted HL7 message, FHIR request, CSV row, JSON record and form through the connectors' own pure
parse + map (connectors.registry, the code the MLLP listener and the intake routes run): all accepted, except
exactly the manifest's expected rejections, each refused for exactly the reason the manifest gives.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.synth import generate_population, generate_records
from hub.synth import sources as synth_sources
from hub.synth.replay import requests, run_pure

# 200 children, seed 32: every HL7 type the generator sends (A40 merge and A11 cancel included) and both kinds
# of deliberate error (a pupil exported without a UPN, a self-referral with a mistyped NHS number).
CHILDREN, SEED = 200, 32
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # the day after the window ends: the export is being read


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    population = generate_population(CHILDREN, SEED, 1)
    built = synth_sources.build(population, generate_records(population), SEED)
    out = tmp_path_factory.mktemp("region")
    manifest = synth_sources.write(built, population, SEED, out)
    return out / "sources", manifest


def test_connectors_accept_every_item_the_manifest_expects_and_nothing_else(region: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    root, manifest = region
    result = run_pure(root, NOW)
    for source, part in manifest["sources"].items():
        assert dict(result.events.get(source, Counter())) == part["events"], source
    expected = [{k: r[k] for k in ("file", "item", "location", "reason")} for r in manifest["expected_rejections"]]
    assert result.rejections == expected


def test_the_region_exercises_every_source_and_every_kind_of_error(region: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    _, manifest = region
    sources = manifest["sources"]
    assert all(sources[s]["items"] > 0 for s in synth_sources.SOURCES)
    assert {"patient.merged", "entry.entered-in-error", "appointment.missed", "referral.made"} <= set(
        sources["hl7v2"]["events"]
    )
    assert {"consent.given", "consent.withdrawn", "thrive.agreed", "referral.declined", "plan.ended"} <= set(
        sources["fhir"]["events"]
    )
    errors = Counter(r["error"] for r in manifest["expected_rejections"])
    assert set(errors) == {"upn-missing", "nhs-typo"}
    reasons = {(r["error"], r["reason"]) for r in manifest["expected_rejections"]}
    assert reasons == {
        ("upn-missing", "required value is missing"),
        ("nhs-typo", "this NHS number does not look right: check it or leave it empty"),
    }


def test_requests_split_files_as_their_senders_send_them(region: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    root, manifest = region
    per_file = Counter[str]()
    for request in requests(root):
        if request.source in ("hl7v2", "fhir", "self-referral"):
            per_file[request.file] += 1
            if request.source == "hl7v2":
                assert request.body.startswith(b"MSH|") and b"\x0b" not in request.body
            else:
                json.loads(request.body)
    for path, part in manifest["files"].items():
        if path.split("/")[0] in ("hl7v2", "fhir", "self-referral"):
            assert per_file[path] == part["items"], path
