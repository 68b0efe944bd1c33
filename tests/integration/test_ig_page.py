"""The IG page in real headless Chromium, driven as an IG officer would, against the hub's real routes.

The in-process hub (the API over SQLite with Amara Okafor's cross-agency story projected through the identity
registry) is served over HTTP; a teacher reads Amara's story through the timeline API; the access log is
seeded with the records the alert rules and the break-glass queue look for. Then the officer signs in, sees
the review queue and alerts, finds the teacher's read by NHS number and by name, narrows it with filters,
opens the disclosure report in one click and downloads it, and decides a break-glass review from the
keyboard. The page is checked at 1366 and 390 px wide for horizontal scrolling, with axe-core (WCAG 2.1 A/AA)
and under its own strict CSP (nothing is bypassed: axe is evaluated through the DevTools protocol). The
screenshots in docs/images/ig-*.png are written by this test.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from hub.audit.log import AuditRecord, append
from tests.integration.test_ig_api import seed
from tests.support.inprocess_hub import InProcessHub
from tests.support.served_hub import served
from tests.support.story import SCHOOL

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
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
WIDTHS = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}


def _axe_source() -> str:
    path = Path(os.environ.get("ONESTORY_AXE_JS") or IMAGES.parents[1] / "node_modules/axe-core/axe.min.js")
    assert path.is_file(), f"{path} missing: `make test` installs axe-core (npm ci)"
    return path.read_text(encoding="utf-8")


class Site:
    def __init__(self, hub: InProcessHub, base: str) -> None:
        self.hub, self.base = hub, base


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    hub = InProcessHub(tmp_path_factory.mktemp("ig-page"))
    seed(hub.engine)
    with hub.engine.begin() as conn:
        append(
            conn,
            AuditRecord(
                action="break-glass",
                outcome="success",
                user_id="dr.patel",
                organisation="RX4",
                role="camhs-clinician",
                purpose="direct-care",
                child_id=hub.child_id,
                reason="Seen in crisis out of hours; consent could not be asked",
                legitimate_relationship=False,
            ),
            datetime.now(UTC) - timedelta(minutes=30),
        )
    with served(hub) as base:
        # the teacher's read, through the real API, before the officer looks
        teacher = hub.token("teacher", SCHOOL)
        bearer = {"Authorization": f"Bearer {teacher}"}
        reply = httpx.get(f"{base}/api/children/{hub.child_id}/timeline", headers=bearer)
        assert reply.status_code == 200
        yield Site(hub, base)
    hub.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _watch_csp(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def _sign_in(page: Page, site: Site, token: str) -> None:
    page.goto(site.base + "/ig")
    page.get_by_label("Bearer token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def _search(page: Page, **fields: str) -> None:
    page.get_by_role("button", name="Clear filters").click()
    for label, value in fields.items():
        control = page.get_by_label(label, exact=True)
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    page.get_by_role("button", name="Search", exact=True).click()


def _no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths[0]} px wide in a {widths[1]} px window"


def _axe(page: Page) -> list[dict[str, Any]]:
    page.evaluate(_axe_source())  # through the DevTools protocol: the page's CSP stays in force
    result = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]} for v in result["violations"]]


def test_an_ig_officer_finds_a_teachers_read_and_opens_the_report(site: Site, browser: Browser, tmp_path: Path) -> None:
    reply = httpx.get(site.base + "/ig")
    csp = reply.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in reply.text and "style=" not in reply.text

    context = browser.new_context(accept_downloads=True, viewport=WIDTHS["1366"], locale="en-GB")
    page = context.new_page()
    csp_problems = _watch_csp(page)
    _sign_in(page, site, site.hub.ig)

    # signed in: the token is gone from the form and never in the address; the queue and alerts are shown
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.locator("#signed-in-as")).to_contain_text("Signed in as u-ig (ig-officer at ONESTORY)")
    assert site.hub.ig not in page.url
    queue = page.locator("#break-glass tbody tr")
    expect(queue).to_have_count(2)
    expect(page.locator("#break-glass")).to_contain_text("Amara Okafor")
    expect(page.locator("#break-glass")).to_contain_text("943 476 5870")
    expect(page.locator("#break-glass")).to_contain_text("consent could not be asked")
    alerts = page.locator("#alerts")
    for rule in ("surname-postcode", "out-of-hours", "unusual-volume", "no-relationship"):
        expect(alerts).to_contain_text(rule)

    # every control is labelled
    for control in page.locator("main input, main select, main textarea").all():
        control_id = control.get_attribute("id")
        assert page.locator(f"label[for='{control_id}']").count() == 1, control_id

    # by NHS number, as written on a letter: the child, and the teacher's read among her accesses
    _search(page, **{"NHS number": "943 476 5870"})
    expect(page.locator("#matched")).to_contain_text("Amara Okafor")
    expect(page.locator("#matched")).to_contain_text("943 476 5870")
    rows = page.locator("#results tbody tr")
    expect(rows.filter(has_text="u-teacher")).to_have_count(1)
    everything = rows.count()
    assert everything >= 3  # the teacher, the break-glass, the officer's own looks

    # filters narrow it
    _search(page, **{"NHS number": "9434765870", "Role": "teacher"})
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("u-teacher")
    expect(rows.first).to_contain_text("teacher at 100001")
    expect(rows.first).to_contain_text("Amara Okafor")
    _search(page, **{"NHS number": "9434765870", "Action": "break-glass"})
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("dr.patel")
    _search(page, **{"NHS number": "9434765870", "Action": "break-glass", "Outcome": "denied"})
    expect(rows).to_have_count(0)
    expect(page.get_by_role("status")).to_have_text("No access records match.")
    _search(page, **{"NHS number": "9434765870", "Organisation code": SCHOOL, "Purpose": "direct-care"})
    expect(rows).to_have_count(1)
    today = datetime.now(UTC).date()
    _search(page, **{"NHS number": "9434765870", "Role": "teacher", "From (date)": str(today - timedelta(days=1))})
    expect(rows).to_have_count(1)
    _search(page, **{"NHS number": "9434765870", "From (date)": str(today + timedelta(days=2))})
    expect(rows).to_have_count(0)
    _search(page, **{"NHS number": "9434765870", "To (date, included)": "2020-01-31"})
    expect(rows).to_have_count(0)

    # by name
    _search(page, Name="okafor", User="u-teacher")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Amara Okafor")
    _search(page, Name="nobody-by-this-name")
    expect(page.locator("#matched")).to_contain_text("No child has that name")
    expect(rows).to_have_count(0)

    # the disclosure report, one click from the row
    _search(page, Name="amara okafor", Role="teacher")
    rows.first.get_by_role("button", name="Disclosure report for Amara Okafor").click()
    report = page.locator("#report")
    expect(page.get_by_role("heading", name="Disclosure report: Amara Okafor")).to_be_focused()
    expect(report).to_contain_text("943 476 5870")
    expect(report.locator("tbody tr").filter(has_text="teacher at 100001")).to_have_count(1)
    with page.expect_download() as pdf:
        report.get_by_role("button", name="Download PDF").click()
    pdf.value.save_as(tmp_path / "report.pdf")
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    with page.expect_download() as csv_file:
        report.get_by_role("button", name="Download CSV").click()
    csv_file.value.save_as(tmp_path / "report.csv")
    assert "u-teacher" in (tmp_path / "report.csv").read_text()

    # at 1366 and 390 px: nothing scrolls sideways, axe-core finds nothing; the screenshots for the docs
    _search(page, **{"NHS number": "943 476 5870", "Role": "teacher"})
    expect(rows).to_have_count(1)
    for name, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        page.evaluate("window.scrollTo(0, 0)")
        _no_horizontal_scroll(page)
        assert _axe(page) == [], name
        page.screenshot(path=str(IMAGES / f"ig-{name}.png"), full_page=True)
    page.set_viewport_size(WIDTHS["1366"])

    # a break-glass review decided from the keyboard
    decide = queue.get_by_role("button", name=re.compile(r"by dr\.patel appropriate$"))
    decide.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("marked appropriate")
    expect(queue).to_have_count(1)

    assert csp_problems == []
    context.close()

    # what the officer did is on the access log, and the terms searched for are not
    ig_records = httpx.get(
        site.base + "/ig/api/audit",
        params={"user": "u-ig", "limit": "500"},
        headers={"Authorization": f"Bearer {site.hub.ig}"},
    ).json()["items"]
    queries = {i["query"] for i in ig_records}
    assert {"break-glass-queue", "disclosure-report.json", "disclosure-report.pdf", "disclosure-report.csv"} <= queries
    assert any(q.startswith("search?") and "nhs=***" in q for q in queries)
    assert any(q.startswith("search?") and "name=***" in q for q in queries)
    assert not any("okafor" in q.lower() or "9434765870" in q for q in queries)


def test_the_page_says_why_a_token_is_refused(site: Site, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, site, site.hub.token("teacher", SCHOOL))
    expect(page.locator("#problem")).to_contain_text("not an IG officer's token")
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#results tbody tr")).to_have_count(0)
    context.close()


def test_the_page_works_from_the_keyboard_alone(site: Site, browser: Browser) -> None:
    context = browser.new_context(viewport=WIDTHS["390"], locale="en-GB")
    page = context.new_page()
    page.goto(site.base + "/ig")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    page.get_by_label("Bearer token").focus()
    page.keyboard.insert_text(site.hub.ig)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_label("NHS number", exact=True).focus()
    page.keyboard.insert_text("943 476 5870")
    page.keyboard.press("Enter")  # submits the search form
    expect(page.locator("#matched")).to_contain_text("Amara Okafor")
    button = page.locator("#matched").get_by_role("button", name="Disclosure report for Amara Okafor")
    button.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Disclosure report: Amara Okafor")).to_be_focused()
    _no_horizontal_scroll(page)

    # signing out forgets the token and clears what was shown
    page.get_by_role("button", name="Sign out").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Bearer token")).to_be_focused()
    assert page.evaluate("sessionStorage.length") == 0
    expect(page.locator("#report")).to_be_hidden()
    expect(page.locator("#matched")).to_be_empty()
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    context.close()
