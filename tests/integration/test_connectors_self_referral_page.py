"""The public self-referral page in real headless Chromium, filled in and sent by keyboard alone.

Checks what matters to a young person using a keyboard or a screen reader: every control is labelled and
reachable by Tab, problems are announced (the summary takes focus, role=alert) and shown beside the fields,
and the receipt reference is shown and focused. The request reaches the hub's event archive.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import select

from hub.db.tables import event_store
from tests.integration.connectors_helpers import engine_for, wait_for
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
def hub(tmp_path: Path, sqlite_url: str) -> Iterator[RunningHub]:
    running = start_hub(tmp_path / "var", sqlite_url)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.stop()


@pytest.fixture
def page() -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install -y chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def focused(page: Page) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def tab_to(page: Page, element_id: str, limit: int = 80) -> None:
    """Press Tab (only) until the element has focus: proves it is reachable by keyboard."""
    for _ in range(limit):
        if focused(page) == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} cannot be reached with the Tab key")


def test_a_young_person_can_ask_for_help_by_keyboard_alone(hub: RunningHub, page: Page, sqlite_url: str) -> None:
    page.goto(hub.api + "/self-referral")
    assert page.title().startswith("Ask for help")
    unlabelled = page.evaluate(
        "Array.from(document.querySelectorAll('input, textarea')).filter(e => !e.labels || !e.labels.length)"
        ".map(e => e.id)"
    )
    assert unlabelled == []
    assert page.evaluate("Array.from(document.querySelectorAll('fieldset')).every(f => f.querySelector('legend'))")

    # Sending an empty form: the problems are announced and listed, and each field says what is wrong.
    tab_to(page, "given_name")
    page.keyboard.press("Enter")
    page.wait_for_selector("#error-summary:not([hidden])")
    assert focused(page) == "error-summary"
    assert page.get_attribute("#error-summary", "role") == "alert"
    summary = page.inner_text("#error-summary")
    assert "Who is asking" in summary and "Date of birth" in summary
    assert page.get_attribute("#given_name", "aria-invalid") == "true"
    assert page.is_visible("#given_name-error")

    # Now fill it in properly, still by keyboard alone.
    tab_to(page, "requester-young-person")
    page.keyboard.press("Space")
    tab_to(page, "given_name")
    page.keyboard.type("Amara")
    page.keyboard.press("Tab")
    page.keyboard.type("Okafor")
    tab_to(page, "birth_day")
    page.keyboard.type("4")
    page.keyboard.press("Tab")
    page.keyboard.type("3")
    page.keyboard.press("Tab")
    page.keyboard.type("2011")
    tab_to(page, "areas-worry")
    page.keyboard.press("Space")
    tab_to(page, "help_wanted")
    page.keyboard.type("I keep worrying and cannot sleep.")
    tab_to(page, "may_tell-gp")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert focused(page) == "may_tell-school"
    page.keyboard.press("Space")
    tab_to(page, "contact_method-phone")
    for _ in range(3):
        page.keyboard.press("ArrowDown")  # phone → text → email → letter
    assert page.is_checked("#contact_method-letter")
    tab_to(page, "submit")
    page.keyboard.press("Enter")

    page.wait_for_selector("#receipt:not([hidden])")
    assert focused(page) == "receipt"
    receipt = page.inner_text("#receipt-reference")
    assert re.fullmatch(r"SR-[A-Z2-7]{4}-[A-Z2-7]{4}", receipt)
    assert receipt in page.inner_text("#status")
    assert page.is_hidden("#self-referral")
    assert page.is_checked("#may_tell-gp") and page.is_checked("#may_tell-school")

    engine = engine_for(sqlite_url)

    def kinds() -> set[str] | None:
        with engine.connect() as conn:
            found = {r.kind for r in conn.execute(select(event_store.c.kind)).all()}
        return found if {"self-referral.submitted", "consent.given"} <= found else None

    wait_for(kinds, 30, "the self-referral and its consent in the archive")
    engine.dispose()
