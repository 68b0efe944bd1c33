"""Self-referral form mapping, the shared intake runner's outcomes, the drop folder and dead-letter replay."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.batch import Batch
from connectors.education.drop_folder import DropFolderWatcher
from connectors.errors import ConnectorError
from connectors.intake_runner import run_intake
from connectors.registry import CONNECTORS
from connectors.self_referral.map import FormInvalid, map_form
from tests.unit.connectors.fakes import MemoryPublisher

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
FORM: dict[str, Any] = {
    "submission_id": "abc",
    "requester": "young-person",
    "given_name": "Amara",
    "family_name": "Okafor",
    "birth_date": "2011-03-04",
    "areas": ["worry"],
    "may_tell": ["gp", "school"],
    "contact_method": "text",
    "contact_value": "07700 900123",
    "help_wanted": "I can't sleep",
}


def test_self_referral_choices_become_the_consent_scope() -> None:
    batch = map_form(json.dumps(FORM).encode(), NOW)
    referral, consent = batch.events
    assert referral["kind"] == "self-referral.submitted" and referral["category"] == "self-referral"
    receipt = referral["payload"][1]["receipt"]
    assert receipt.startswith("SR-")
    assert consent["kind"] == "consent.given"
    c = consent["payload"][1]
    assert c["recipient_organisation_types"] == ["gp-practice", "school"]
    assert c["given_by"] == "young-person"
    assert referral["sharing_basis"] == {
        "kind": "consent",
        "reference": c["consent_id"],
        "decided_by": None,
        "reason": None,
    }
    assert referral["correlation_ids"]["referral"] == receipt
    # the same submission gives the same receipt and event ids (double submit, replay)
    again = map_form(json.dumps(FORM).encode(), datetime(2026, 11, 23, tzinfo=UTC))
    assert [e["event_id"] for e in again.events] == [e["event_id"] for e in batch.events]


def test_telling_nobody_is_recorded_as_a_refusal() -> None:
    batch = map_form(json.dumps({**FORM, "may_tell": [], "requester": "parent"}).encode(), NOW)
    referral, consent = batch.events
    assert consent["kind"] == "consent.refused"
    assert consent["payload"][1]["given_by"] == "parental-responsibility"
    assert referral["sharing_basis"]["kind"] == "none"


def test_every_field_problem_is_reported_at_once() -> None:
    bad = {
        **FORM,
        "requester": "someone",
        "birth_date": "2011-02-30",
        "may_tell": ["everyone"],
        "nhs_number": "9434765871",
        "given_name": "",
    }
    with pytest.raises(FormInvalid) as err:
        map_form(json.dumps(bad).encode(), NOW)
    fields = [f for f, _ in err.value.issues]
    assert fields == ["requester", "given_name", "birth_date", "may_tell", "nhs_number"]


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(list(FORM) + ["nhs_number", "postcode"]),
        st.one_of(
            st.none(), st.integers(), st.text(max_size=20), st.lists(st.sampled_from(["gp", "worry", "x"]), max_size=3)
        ),
        max_size=10,
    )
)
def test_any_form_is_accepted_or_rejected_with_field_reasons(overrides: dict[str, Any]) -> None:
    try:
        batch = map_form(json.dumps({**FORM, **overrides}).encode(), NOW)
    except ConnectorError as exc:
        assert exc.reason and exc.location
    else:
        assert len(batch.events) == 2


def test_runner_statuses_and_dead_letters() -> None:
    pub = MemoryPublisher()
    ok = run_intake(
        pub,
        "self_referral",
        b"{}",
        "application/json",
        lambda: map_form(json.dumps(FORM).encode(), NOW),
        NOW,
        atomic=True,
    )
    assert ok.status == 200 and len(ok.accepted) == 2 and len(pub.events) == 2

    not_json = run_intake(
        pub,
        "fhir",
        b"nope",
        "application/fhir+json; org=RX1",
        lambda: CONNECTORS["fhir"](b"nope", "application/fhir+json; org=RX1", NOW),
        NOW,
        atomic=True,
    )
    assert not_json.status == 400 and len(pub.dead) == 1 and pub.dead[0]["body"] == b"nope"

    csv = b"UPN,Status\r\nB801200005001,K\r\nA801200005001,K\r\n"
    partial = run_intake(
        pub,
        "education",
        csv,
        "text/csv; type=sen; org=100001",
        lambda: CONNECTORS["education"](csv, "text/csv; type=sen; org=100001", NOW),
        NOW,
        atomic=False,
    )
    assert partial.status == 200 and len(partial.accepted) == 1 and len(partial.deadletter_ids) == 1
    kept = pub.dead[-1]
    assert kept["reason"] == "row 3, column UPN: UPN fails its check letter"
    assert kept["body"] == b"UPN,Status\r\nA801200005001,K\r\n"

    pub.fail = True
    down = run_intake(
        pub,
        "education",
        csv,
        "text/csv; type=sen; org=100001",
        lambda: CONNECTORS["education"](csv, "text/csv; type=sen; org=100001", NOW),
        NOW,
        atomic=False,
    )
    assert down.status == 503


def test_replay_registry_reruns_the_kept_row() -> None:
    fixed = b"UPN,Status\r\nB801200005001,E\r\n"
    batch = CONNECTORS["education"](fixed, "text/csv; type=sen; org=100001", NOW)
    assert [e["kind"] for e in batch.events] == ["sen.status-changed"] and not batch.issues
    still_bad: Batch = CONNECTORS["education"](
        b"UPN,Status\r\nB801200005001,Q\r\n", "text/csv; type=sen; org=100001", NOW
    )
    assert still_bad.errors[0].location == "row 2, column Status"


def test_drop_folder_moves_taken_files_and_never_loses_failed_ones(tmp_path: Path) -> None:
    pub = MemoryPublisher()
    watcher = DropFolderWatcher(tmp_path, pub, clock=lambda: NOW)
    good = tmp_path / "100001_sen_20251107.csv"
    good.write_bytes(b"UPN,Status\r\nB801200005001,K\r\nA801200005001,K\r\n")
    badly_named = tmp_path / "sen.csv"
    badly_named.write_bytes(b"UPN,Status\r\n")
    assert watcher.scan_once() == []  # first sight: wait until the size is stable
    outcomes = {o.name: o for o in watcher.scan_once()}
    assert outcomes["100001_sen_20251107.csv"].folder == "done"
    assert outcomes["100001_sen_20251107.csv"].accepted == 1
    assert outcomes["100001_sen_20251107.csv"].rejected_rows == 1
    assert outcomes["sen.csv"].folder == "failed"
    assert not good.exists() and not badly_named.exists()
    done = sorted(p.name for p in (tmp_path / "done").iterdir())
    assert done == ["20261122T090000_100001_sen_20251107.csv", "20261122T090000_100001_sen_20251107.csv.report.json"]
    report = json.loads((tmp_path / "done" / done[1]).read_text())
    assert report["issues"][0]["location"] == "row 3, column UPN"
    assert len(list((tmp_path / "failed").iterdir())) == 2
    assert len(pub.dead) == 2


def test_drop_folder_leaves_files_in_place_when_the_hub_cannot_store_them(tmp_path: Path) -> None:
    pub = MemoryPublisher(fail=True)
    watcher = DropFolderWatcher(tmp_path, pub, clock=lambda: NOW)
    f = tmp_path / "100001_sen.csv"
    f.write_bytes(b"UPN,Status\r\nB801200005001,K\r\n")
    watcher.scan_once()
    (outcome,) = watcher.scan_once()
    assert outcome.folder == "retry" and f.exists()
