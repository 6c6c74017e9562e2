"""Public pages in a real browser: accessible, reflowing, keyboard-usable, no third-party requests."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer
from tests.support.browser import check_page, open_mail

pytestmark = pytest.mark.e2e

PUBLIC_PAGES = [
    ("/", "Willkommen bei Stadtkern Duisburg"),
    ("/impressum", "Impressum"),
    ("/datenschutz", "Datenschutzerklärung"),
    ("/barrierefreiheit", "Erklärung zur Barrierefreiheit"),
    ("/dev/mail", "Entwicklungs-Postfach"),
    ("/gibt-es-nicht", "Seite nicht gefunden"),
]


@pytest.mark.parametrize(("path", "heading"), PUBLIC_PAGES)
async def test_public_page_is_accessible(
    page: Page, live_server: LiveServer, path: str, heading: str
) -> None:
    await page.goto(path)
    await expect(page.locator("h1")).to_have_text(heading)
    assert await page.get_attribute("html", "lang") == "de"
    await check_page(page, f"public {path}")


async def test_skip_link_is_first_and_moves_focus_to_content(page: Page, live_server: LiveServer) -> None:
    await page.goto("/")
    await page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "inhalt"


async def test_language_switch_to_english_and_back(page: Page, live_server: LiveServer) -> None:
    await page.goto("/impressum")
    await page.get_by_role("button", name="English").click()
    await expect(page).to_have_url(f"{live_server.base_url}/impressum")
    assert await page.get_attribute("html", "lang") == "en"
    await expect(page.locator("h1")).to_have_text("Imprint")
    await check_page(page, "imprint english")
    await page.get_by_role("button", name="Deutsch").click()
    await expect(page.locator("h1")).to_have_text("Impressum")


async def test_accessibility_feedback_reaches_the_city_by_mail(page: Page, live_server: LiveServer) -> None:
    await page.goto("/barrierefreiheit")
    await page.get_by_role("button", name="Rückmeldung senden").click()
    # Empty form: the error summary and the field message appear, and the page stays accessible.
    await expect(page.locator(".error-summary")).to_be_visible()
    await check_page(page, "accessibility feedback errors")
    await page.get_by_label("Welche Barriere ist Ihnen aufgefallen?").fill(
        "Der Kontrast im Kopf ist zu gering."
    )
    await page.get_by_label("Auf welcher Seite? (Adresse oder Titel)").fill("/impressum")
    await page.get_by_role("button", name="Rückmeldung senden").click()
    await expect(page.get_by_role("status")).to_contain_text("Vielen Dank")
    # The mail is delivered by the embedded job runner into the development mailbox.
    await open_mail(page, "Barriere gemeldet: /impressum")
    await expect(page.locator(".mail-body")).to_contain_text("Der Kontrast im Kopf ist zu gering.")
