"""The IG page in real headless Chromium against `onestory up`: token, search, report download, break-glass
review, alerts; keyboard-only use and labelled controls.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from hub.db.engine import make_engine
from tests.integration.test_ig_api import seed
from tests.support.hub_process import RunningHub, start_hub

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    url = f"sqlite:///{tmp_path / 'onestory.db'}"
    running = start_hub(tmp_path / "var", url)
    engine = make_engine(url)
    seed(engine)
    engine.dispose()
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _sign_in(page: Page, hub: RunningHub, token: str) -> None:
    page.goto(hub.api + "/ig")
    page.get_by_label("Bearer token").fill(token)
    page.get_by_role("button", name="Use token").click()
    expect(page.get_by_role("status")).to_have_text("Token saved for this tab.")


def test_an_ig_officer_uses_the_page(hub: RunningHub, browser: Browser, tmp_path: Path) -> None:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    _sign_in(page, hub, hub.token(user="ig.officer", org="ONESTORY", role="ig-officer", purpose="audit"))

    # every form control has a label
    for control in page.locator("main input, main select, main textarea").all():
        control_id = control.get_attribute("id")
        assert page.locator(f"label[for='{control_id}']").count() == 1, control_id

    # search by child
    page.get_by_label("Child id", exact=True).first.fill("child-A")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator("#results")).to_contain_text("nurse.smith")
    expect(page.locator("#results")).to_contain_text("NO")  # no legitimate relationship, in words

    # the disclosure report downloads as CSV and PDF
    page.locator("#r-child").fill("child-A")
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Download CSV").click()
    csv_path = tmp_path / "report.csv"
    csv_download.value.save_as(csv_path)
    assert csv_download.value.suggested_filename == "disclosures-child-A.csv"
    assert "nurse.smith" in csv_path.read_text()
    with page.expect_download() as pdf_download:
        page.get_by_role("button", name="Download PDF").click()
    pdf_path = tmp_path / "report.pdf"
    pdf_download.value.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF")

    # the break-glass queue, decided from the keyboard
    page.get_by_role("button", name="Load review queue").focus()
    page.keyboard.press("Enter")
    queue = page.locator("#break-glass tbody tr")
    expect(queue).to_have_count(1)
    expect(queue).to_contain_text("unconscious in A&E")
    decide = queue.get_by_role("button", name=re.compile(r"\d appropriate$"))
    decide.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("marked appropriate")
    expect(queue).to_have_count(0)

    # alerts
    page.get_by_role("button", name="Load alerts").click()
    alerts = page.locator("#alerts tbody")
    expect(alerts).to_contain_text("surname-postcode")
    expect(alerts).to_contain_text("out-of-hours")
    expect(alerts).to_contain_text("unusual-volume")
    context.close()


def test_the_page_says_why_a_token_is_refused(hub: RunningHub, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, hub, hub.token(user="dr.jones", org="RX1", role="gp"))
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_contain_text("Error 403")
    expect(page.locator("#results tbody tr")).to_have_count(0)
    page.get_by_role("button", name="Forget token").click()
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_contain_text("Enter a bearer token first")
    context.close()
