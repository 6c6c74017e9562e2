"""A citizen books an appointment in Chromium: services → place → free times → form → mail → confirm →
move → cancel. Every page on the way is checked with axe-core and at 320 CSS px.

The live server runs on the real clock, so the test picks whatever times are free.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer
from tests.support.browser import check_page, open_mail

pytestmark = pytest.mark.e2e

EMAIL = "termin.e2e@example.org"


async def first_free_time(page: Page) -> None:
    """Click the first free time in the calendar, going to later weeks if this one is full."""
    for _week in range(6):
        times = page.locator("button.time")
        if await times.count():
            await times.first.click()
            return
        earliest = page.get_by_role("link", name=re.compile("Zur Woche mit dem frühesten"))
        if await earliest.count():
            await earliest.click()
        else:
            await page.get_by_role("link", name=re.compile("Nächste Woche")).click()
    raise AssertionError("no free time within six weeks")


async def test_book_confirm_move_cancel(page: Page, live_server: LiveServer) -> None:
    # Service page first: what to bring, the fee, the human path.
    await page.goto("/termine/leistungen/personalausweis")
    await expect(page.locator("h1")).to_have_text("Personalausweis beantragen")
    await expect(page.get_by_text("telefonisch oder direkt am Schalter").first).to_be_visible()
    await check_page(page, "appointments service page")

    # 1. Services (two: durations add up).
    await page.goto("/termine")
    await check_page(page, "appointments start")
    await page.get_by_label("Personalausweis beantragen").check()
    await page.get_by_label("Wohnsitz anmelden oder ummelden").check()
    await expect(page.locator("#total-minutes")).to_have_text("Dauer zusammen: 35 Minuten")
    await page.get_by_role("button", name="Weiter zur Standortwahl").click()

    # 2. Place: first "in my neighbourhood" by the browser's location (Rheinhausen Markt) ...
    await expect(page.locator("h1")).to_have_text("Standort wählen")
    await expect(page.get_by_text("35 Minuten").first).to_be_visible()
    await check_page(page, "appointments place")
    await page.context.grant_permissions(["geolocation"], origin=live_server.base_url)
    await page.context.set_geolocation({"longitude": 6.7138, "latitude": 51.3973})
    await page.get_by_role("button", name="Meinen Standort verwenden").click()
    await expect(page.locator("#location-status")).to_contain_text("Ihr Standort wird verwendet")
    await expect(page.locator("#ort-naehe")).to_be_checked()
    await page.get_by_role("button", name="Freie Zeiten anzeigen").click()
    await expect(page.locator("h1")).to_have_text("Standorte in der Nähe von Ihrem Standort")
    await expect(page.locator(".office-list h2").first).to_have_text("Bürgerservice Rheinhausen")
    await check_page(page, "appointments nearest offices")

    # ... then "earliest anywhere", then a specific office and its calendar.
    await page.go_back()
    await page.get_by_label("Frühester Termin überall").check()
    await page.get_by_role("button", name="Freie Zeiten anzeigen").click()
    await expect(page.locator("h1")).to_have_text("Frühester Termin überall")
    await check_page(page, "appointments earliest anywhere")
    await page.go_back()
    await page.get_by_label("Einen bestimmten Standort").check()
    await page.get_by_label("Standort", exact=True).select_option("bs-mitte")
    await page.get_by_role("button", name="Freie Zeiten anzeigen").click()
    await expect(page.locator("h1")).to_have_text("Freie Zeiten: Bürgerservice Mitte")
    await check_page(page, "appointments calendar")
    await first_free_time(page)

    # 3. The form: an error first (shown at the field), then the real address.
    await expect(page.locator("h1")).to_have_text("Ihre Angaben")
    await check_page(page, "appointments booking form")
    await page.get_by_label("E-Mail-Adresse").fill("keine-adresse")
    await page.get_by_role("button", name="Termin reservieren").click()
    await expect(page.locator("#email-error")).to_be_visible()
    await check_page(page, "appointments booking form with error")
    await page.get_by_label("E-Mail-Adresse").fill(EMAIL)
    await page.get_by_label("Name (freiwillig)").fill("Erika Mustermann")
    await page.get_by_role("button", name="Termin reservieren").click()
    await expect(page.locator("h1")).to_have_text("Bitte prüfen Sie Ihr Postfach")
    await check_page(page, "appointments check mail")

    # 4. The mail; its link shows the booking, the button confirms it.
    await open_mail(page, "Bitte bestätigen Sie Ihren Termin")
    await page.locator(".mail-body a[href*='/bestaetigen']").first.click()
    await expect(page.locator("h1")).to_have_text("Termin bestätigen")
    await check_page(page, "appointments confirm")
    await page.get_by_role("button", name="Termin verbindlich bestätigen").click()
    await expect(page.get_by_text("Ihr Termin ist bestätigt")).to_be_visible()
    await expect(page.locator(".booking-code")).to_have_text(re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$"))
    await check_page(page, "appointments manage")
    manage_url = page.url.split("?")[0]
    code = await page.locator(".booking-code").inner_text()

    await open_mail(page, "Ihr Termin ist bestätigt")
    await expect(page.get_by_text(code).first).to_be_visible()
    await expect(page.locator("dd", has_text="termin.ics")).to_contain_text(f"termin-{code}.png")

    # 5. Move to another time at the same office.
    await page.goto(manage_url)
    await page.get_by_role("link", name="Termin verschieben").click()
    await expect(page.locator("h1")).to_have_text("Termin verschieben")
    await check_page(page, "appointments move")
    await first_free_time(page)
    await expect(page.get_by_text("Ihr Termin ist verschoben")).to_be_visible()
    await open_mail(page, "Ihr Termin wurde verschoben")
    await expect(page.get_by_text(code).first).to_be_visible()

    # 6. Cancel.
    await page.goto(manage_url)
    await page.get_by_role("button", name="Termin absagen").click()
    await expect(page.get_by_text("Ihr Termin ist abgesagt. Die Zeit ist wieder frei")).to_be_visible()
    await expect(page.get_by_role("button", name="Termin absagen")).to_have_count(0)
    await check_page(page, "appointments cancelled")
    await open_mail(page, "Ihr Termin ist abgesagt")
    await expect(page.locator("dd", has_text="absage.ics")).to_be_visible()
