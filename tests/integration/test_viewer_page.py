"""The timeline page in real headless Chromium, driven as a user: EPR launch → story → keyboard filter → why.

axe-core (npm, pinned in package.json and installed by `make test`) checks the WCAG 2.1 A/AA rules; a set of
concrete checks (landmarks, headings, labels, focus, reflow) runs beside it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.test_fhir_api import publish_story, token
from tests.support.hub_process import RunningHub

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api")
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
DOCS = Path(__file__).resolve().parents[2] / "docs" / "images"


def _axe_js() -> Path:
    """The accessibility check is part of the page's definition of done: missing axe-core fails, not skips."""
    path = Path(os.environ.get("ONESTORY_AXE_JS") or DOCS.parents[1] / "node_modules/axe-core/axe.min.js")
    assert path.is_file(), f"{path} missing: `make test` installs axe-core (npm ci)"
    return path


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make chromium)")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _launch_url(hub: RunningHub, child_id: str, role: str) -> str:
    reply = httpx.post(
        f"{hub.api}/smart/launch",
        json={"patient": child_id},
        timeout=10,
        headers={"Authorization": f"Bearer {token(hub, role)}"},
    )
    reply.raise_for_status()
    return str(reply.json()["viewer"])


def _shown(page: Any) -> list[str]:
    return list(page.locator("#story > li:not([hidden]) h3").all_inner_texts())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_practitioner_launches_the_viewer_and_uses_it_by_keyboard(running_hub: RunningHub, browser: Any) -> None:
    hub = running_hub
    child_id = publish_story(hub)
    page_reply = httpx.get(f"{hub.api}/viewer", timeout=10)
    csp = page_reply.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in csp and "x-frame-options" not in page_reply.headers

    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})  # to inject axe only
    page = context.new_page()
    page.goto(_launch_url(hub, child_id, "gp"))
    page.wait_for_selector("#story > li", timeout=20_000)
    assert page.url == f"{hub.api}/viewer?patient={child_id}"  # the code left the address bar
    assert page.locator("h1").inner_text() == "The story of Amara Okafor"
    assert "Getting Help" in page.locator("#thrive").inner_text()
    assert "Sleeping most nights" in page.locator("#ending").inner_text()
    assert "01632 960002" in page.locator("#team").inner_text()  # CAMHS contact in the team
    everything = _shown(page)
    assert "CAMHS assessment completed" in everything and len(everything) >= 10
    assert all("Source:" in t for t in page.locator("#story .meta").all_inner_texts())

    # Keyboard only: skip link, then Tab to the agency filter and choose an agency with the arrow keys.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "agency":
            break
    assert page.evaluate("document.activeElement.id") == "agency"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # visible focus
    while not page.locator("#agency").input_value():
        page.keyboard.press("ArrowDown")
    chosen = page.locator("#agency option:checked").inner_text()
    filtered = page.locator("#story > li:not([hidden]) .meta").all_inner_texts()
    assert filtered and all(f"Source: {chosen}" in t for t in filtered) and len(filtered) < len(everything)
    assert "Showing" in page.locator("#shown").inner_text()

    # Open "why can't I see more?" from the keyboard.
    page.focus("#why summary")
    page.keyboard.press("Enter")
    assert page.evaluate("document.getElementById('why').open") is True
    why = page.locator("#why").inner_text()
    assert "General practitioner" in why and "information governance" in why

    _accessibility(page)
    if os.environ.get("ONESTORY_SCREENSHOTS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / "viewer-gp.png"), full_page=True)

    # A teacher sees less, and the explanation is the same words apart from the role: nothing hints at it.
    teacher = context.new_page()
    teacher.goto(_launch_url(hub, child_id, "teacher"))
    teacher.wait_for_selector("#story > li", timeout=20_000)
    teacher_entries = _shown(teacher)
    assert "Child in need plan started" not in teacher_entries and len(teacher_entries) < len(everything)
    teacher.focus("#why summary")
    teacher.keyboard.press("Enter")
    assert teacher.locator("#why-intro").inner_text() == page.locator("#why-intro").inner_text()
    assert teacher.locator("#why-next").inner_text() == page.locator("#why-next").inner_text()
    if os.environ.get("ONESTORY_SCREENSHOTS"):
        teacher.screenshot(path=str(DOCS / "viewer-teacher.png"), full_page=True)

    # Reflow: at 320 CSS px nothing scrolls sideways.
    page.set_viewport_size({"width": 320, "height": 800})
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(e => e.tagName + '#' + e.id + '.' + e.className)"
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), wide
    context.close()


def _accessibility(page: Any) -> None:
    assert page.locator("html").get_attribute("lang") == "en-GB"
    assert page.locator("main").count() == 1 and page.locator("header").count() == 1
    assert page.locator("h1").count() == 1 and page.locator("h2").count() >= 4
    for select in ("agency", "category"):
        assert page.locator(f"label[for={select}]").count() == 1
    page.add_script_tag(path=str(_axe_js()))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', "
        "'wcag21aa']}})"
    )
    violations = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
    assert violations == [], violations
    assert result["passes"], "axe ran no rules"
