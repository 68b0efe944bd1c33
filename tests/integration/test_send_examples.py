"""docs/integrators.md as an integrator would use it: its `onestory send` commands, run as written (the real
CLI, a subprocess) against a running hub. Every file under docs/examples must be sent by one of
them, be accepted, and its events must appear on the child's story through the API. Also what the sender sees
when something is refused, and the command's own errors (no hub needed for those).
"""

from __future__ import annotations

import glob
import json
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.hub_process import RunningHub, start_hub

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "docs" / "integrators.md",)  # the README's send lines send a subset of the same files
EXAMPLES = ROOT / "docs" / "examples"
NHS = "9992588322"  # the examples' child (999 test range)
VIEWERS = [  # (role, organisation, purpose): between them, everyone the examples' events are for
    ("gp", "A81005", "direct-care"),
    ("camhs-clinician", "RX4", "direct-care"),
    ("camhs-clinician", "RX1", "direct-care"),
    ("school-dsl", "100001", "safeguarding"),
    ("social-worker", "990", "safeguarding"),
    ("vcse-worker", "VCSE01", "direct-care"),
]


def doc_commands() -> list[list[str]]:
    """Every `onestory send` line of the docs' sh blocks, globs expanded from the repository root."""
    commands, in_sh = [], False
    lines = [line for doc in DOCS for line in doc.read_text(encoding="utf-8").splitlines()]
    for line in lines:
        if line.startswith("```"):
            in_sh = line.strip() == "```sh"
            continue
        words = shlex.split(line, comments=True) if in_sh and "onestory send " in line else []
        if len(words) > 1 and words[0].endswith("onestory") and words[1] == "send":
            args: list[str] = []
            for word in words[2:]:
                args += sorted(glob.glob(word, root_dir=ROOT)) if "*" in word else [word]
            commands.append(args)
    return commands


def send(hub: RunningHub | None, *args: str, api_port: int = 9, mllp_port: int = 9) -> subprocess.CompletedProcess[str]:
    where = ["--data-dir", str(hub.data_dir)] if hub else []
    if hub:
        api_port, mllp_port = int(hub.api.rsplit(":", 1)[1]), hub.mllp_port
    return subprocess.run(
        [sys.executable, "-m", "hub", "send", *args, *where, "--port", str(api_port), "--mllp-port", str(mllp_port)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    folder = tmp_path_factory.mktemp("send")
    running = start_hub(folder / "var", f"sqlite:///{folder / 'onestory.db'}")
    try:
        yield running
    finally:
        running.stop()


def _get(hub: RunningHub, path: str, role: str, org: str, purpose: str, **params: str) -> Any:
    token = hub.token(user=f"u-{role}", org=org, role=role, purpose=purpose)
    reply = httpx.get(f"{hub.api}{path}", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    reply.raise_for_status()
    return reply.json()


def _story(hub: RunningHub) -> list[dict[str, Any]]:
    """The child's entries as every viewer sees them together (none yet if the child is not known yet)."""
    found = _get(
        hub, "/fhir/Patient", "gp", "A81005", "direct-care", identifier=f"https://fhir.nhs.uk/Id/nhs-number|{NHS}"
    )
    if found.get("total") != 1:
        return []
    child = found["entry"][0]["resource"]["id"]
    entries: dict[str, dict[str, Any]] = {}
    for role, org, purpose in VIEWERS:
        for entry in _get(hub, f"/api/children/{child}/timeline", role, org, purpose)["entries"]:
            entries[entry["id"]] = entry
    return list(entries.values())


def test_every_example_is_sent_by_the_docs_accepted_and_on_the_story(hub: RunningHub) -> None:
    commands = doc_commands()
    sent = {Path(a).resolve() for args in commands for a in args if (ROOT / a).is_file()}
    examples = {p.resolve() for p in EXAMPLES.rglob("*") if p.is_file()}
    assert sent == examples, f"examples no command in docs/integrators.md sends: {sorted(examples - sent)}"

    event_ids: set[str] = set()
    hl7_messages: set[str] = set()
    for args in commands:
        result = send(hub, *args, "--json")
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        for line in result.stdout.splitlines():
            answer = json.loads(line)
            assert answer["accepted"], answer
            assert not answer["problems"], answer
            if answer["intake"] == "hl7":
                assert answer["status"] == "AA"
                hl7_messages.add(answer["message"])
            else:
                assert answer["status"] in ("200", "201") and answer["events"], answer
                event_ids |= {e["id"] for e in answer["events"]}
    assert hl7_messages == {"ADT^A01 EX-A01-0001", "REF^I12 EX-I12-0001"} and len(event_ids) > 30

    missing: object = None
    deadline = time.monotonic() + 90
    while missing != set() and time.monotonic() < deadline:
        time.sleep(0.5 if missing is not None else 0)
        entries = _story(hub)
        hl7 = {e["kind"] for e in entries if e["source"]["organisation"] == "RX1"}
        missing = (event_ids - {e["id"] for e in entries}) | ({"encounter.started", "referral.made"} - hl7)
    assert missing == set(), f"not on the story: {missing}"


def test_what_a_sender_sees_when_something_is_refused(hub: RunningHub, tmp_path: Path) -> None:
    hl7 = tmp_path / "two.hl7"  # LF-separated, two messages in one file: the first from a sender the hub does not know
    hl7.write_bytes(
        b"MSH|^~\\&|X|NOPE|ONESTORY|HUB|20250310143000||ADT^A01|BAD-1|P|2.4\nPID|1||123^^^NOPE^MR\n"
        b"MSH|^~\\&|NSH-PAS|NSH-PAS|ONESTORY|HUB|20250310143000||ADT^A01|OK-2|P|2.4\nPID|1||123^^^NSH-PAS^MR\nPV1|1|E\n"
    )
    result = send(hub, "hl7", str(hl7))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{hl7} #1 ADT^A01 BAD-1: AR refused: MSH-4: unknown sender"), lines
    assert lines[1] == f"{hl7} #2 ADT^A01 OK-2: AA"
    assert lines[2] == "sent 2 messages: 1 accepted, 1 refused in whole or in part"

    school = tmp_path / "100001_attendance.csv"  # record type and school from the file name
    school.write_text("UPN,Week Start,Marks\nQ990328915675,2025-03-03,/\\/\\\nX123,2025-03-03,/\\\n")
    result = send(hub, "csv", str(school))
    assert result.returncode == 1
    assert re.match(
        rf"^{re.escape(str(school))}: 200 accepted 1 event \(attendance.summary\) \| refused: row 3, column UPN: "
        r"UPN fails its check letter \| kept as dead letter \S+$",
        result.stdout.splitlines()[0],
    ), result.stdout


def test_errors_name_what_is_wrong_before_anything_is_sent(tmp_path: Path) -> None:
    unknown = send(None, "xml", "docs/examples/fhir/gp-patient.json")
    assert unknown.returncode == 2 and "'xml' is not one of 'hl7', 'fhir', 'csv', 'json'" in unknown.stderr

    missing = send(None, "hl7", str(tmp_path / "nope.hl7"))
    assert missing.returncode == 2 and f"cannot read {tmp_path / 'nope.hl7'}" in missing.stderr

    unreachable = send(None, "hl7", "docs/examples/hl7/adt-a01.hl7", mllp_port=1)
    assert unreachable.returncode == 2 and "cannot reach the hub's MLLP listener at 127.0.0.1:1" in unreachable.stderr

    no_org = send(None, "fhir", "docs/examples/fhir/camhs-bundle.json")
    assert no_org.returncode == 2 and "does not name its sending organisation: give --org" in no_org.stderr

    which = tmp_path / "which.json"
    which.write_text('{"records": []}')
    unsure = send(None, "json", str(which))
    assert unsure.returncode == 2 and "cannot tell which intake" in unsure.stderr

    not_hl7 = tmp_path / "notes.hl7"
    not_hl7.write_text("Dear Dr Smith,\nMSH|^~\\&|A|B|C|D|20250101||ADT^A01|1|P|2.4\n")
    refused = send(None, "hl7", str(not_hl7))
    assert refused.returncode == 2 and "line 1 comes before any MSH segment" in refused.stderr
    assert "Dear" not in refused.stderr  # the file's content is never echoed


def test_resending_a_consent_leaves_the_story_readable(hub: RunningHub) -> None:
    """Runs after the examples were sent: sending the school's consent again must change nothing."""
    result = send(hub, "csv", "docs/examples/school/100001_consents.csv")
    assert result.returncode == 0, result.stdout
    found = _get(
        hub, "/fhir/Patient", "gp", "A81005", "direct-care", identifier=f"https://fhir.nhs.uk/Id/nhs-number|{NHS}"
    )
    child = found["entry"][0]["resource"]["id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not _get(hub, f"/api/children/{child}/timeline", "camhs-clinician", "RX4", "direct-care")["updating"]:
            return
        time.sleep(0.5)
    raise AssertionError("the child's story stayed 'updating' after a consent was sent again")
