"""`make up`'s demo and the README's examples, run as a new user would (issue 15, item 6).

`onestory up` with its demo sends a small region through the real interfaces and prints a viewer URL and a curl
command for a CAMHS clinician; both must show a story across agencies. The README's `onestory token` + FHIR
search + timeline example must return Amara's story for her GP. SQLite only: the PostgreSQL paths of the same
interfaces are covered by test_one_story_scenarios.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.hub_process import start_hub

pytestmark = pytest.mark.integration
CURL = re.compile(r"curl -H 'Authorization: Bearer (?P<token>[^']+)' (?P<url>\S+/timeline)")
VIEWER = re.compile(r"(?P<url>http://\S+/viewer\?patient=(?P<child>[0-9a-f-]+))#access_token=(?P<token>\S+)")
README = Path(__file__).resolve().parents[2] / "README.md"


def test_make_up_demo_shows_a_multi_agency_story_and_the_readme_examples_return_data(tmp_path: Path) -> None:
    hub = start_hub(tmp_path / "var", None, ["--demo"])
    try:
        deadline = time.monotonic() + 240
        while not any(CURL.search(line) for line in hub.output) and time.monotonic() < deadline:
            assert hub.process.poll() is None, hub.stderr[-20:]
            time.sleep(0.5)
        text = "\n".join(hub.output)
        assert "demo: sent 27 requests; refused 0" in text, text
        curl, viewer = CURL.search(text), VIEWER.search(text)
        assert curl is not None and viewer is not None, text

        story = httpx.get(curl["url"], headers={"Authorization": f"Bearer {curl['token']}"}, timeout=30).json()
        sources = {e["source"]["organisation"] for e in story["entries"]}
        assert len(sources) >= 6, sources  # GP, CAMHS, school nursing, school, council, VCSE, the form
        shown = {e.get("kind") for e in story["entries"] if e["level"] in ("full", "summary")}
        assert {"self-referral.submitted", "vcse.session", "attendance.summary", "plan.started"} <= shown, shown
        page = httpx.get(viewer["url"], timeout=30)
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert viewer["child"] in curl["url"]

        # The README: a GP token from `onestory token`, the FHIR search it shows, then the child's timeline.
        readme = README.read_text()
        command = re.search(r"TOKEN=\$\(\.venv/bin/onestory (token [^)]+)\)", readme)
        nhs = re.search(r"nhs-number\|(\d{10})'", readme)
        assert command is not None and nhs is not None
        args = command[1].replace("--data-dir var", f"--data-dir {hub.data_dir}").split()
        token = subprocess.run(
            [sys.executable, "-m", "hub", *args], capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()
        headers = {"Authorization": f"Bearer {token}"}
        bundle = httpx.get(
            f"{hub.api}/fhir/Patient",
            params={"identifier": f"https://fhir.nhs.uk/Id/nhs-number|{nhs[1]}"},
            headers=headers,
            timeout=30,
        ).json()
        assert bundle["total"] == 1, bundle
        child = bundle["entry"][0]["resource"]["id"]
        timeline = httpx.get(f"{hub.api}/api/children/{child}/timeline", headers=headers, timeout=30).json()
        assert len(timeline["entries"]) >= 10, timeline
    finally:
        if hub.process.poll() is None:
            hub.stop()
