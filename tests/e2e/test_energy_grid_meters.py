"""Grid analysis on meter data in Chromium: an admin picks the load source "Zählerdaten des Stadtbezirks" by
keyboard on /verwaltung/energie/netz, the app's job runner computes the study from the district's
aggregated household meters (the live demo city at its default scale has well over 10 in Rheinhausen), and
the list and the study page say which source was used and how much of it came from the meters. Every page
passes axe-core and reflows at 320 px."""

from __future__ import annotations

import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer, log_in_new_admin
from tests.support.browser import check_page

pytestmark = pytest.mark.e2e

EMAIL = "netz-zaehler@example.org"
PASSWORD = "Zaehlerdaten-2026-sicher"


async def test_admin_runs_a_study_on_the_districts_meter_data(page: Page, live_server: LiveServer) -> None:
    await log_in_new_admin(page, live_server, EMAIL, PASSWORD, "Netz-Zähler")
    await page.goto("/verwaltung/energie/netz")
    profiles = page.get_by_role("radio", name="Standardlastprofile (H25 für Haushalte, G25 für Gewerbe)")
    meters = page.get_by_role("radio", name="Zählerdaten des Stadtbezirks")
    await expect(profiles).to_be_checked()
    await expect(page.get_by_role("group", name="Lastquelle")).to_be_visible()
    # Today, local: the live city's simulator wrote the last day's meter readings at its start, so the
    # quarter hours up to now come from meters and the rest of the day from the standard profile.
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    await page.get_by_label("Tage").fill("1")
    await page.get_by_label("Erster Tag").fill(today.isoformat())
    await profiles.focus()
    await page.keyboard.press("ArrowDown")  # radio groups move by arrow keys
    await expect(meters).to_be_checked()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name=re.compile(r"Netzstudie \d+"), level=1)).to_be_visible()
    study_url = page.url
    deadline = time.monotonic() + 180
    while True:
        await page.goto(study_url)
        if await page.get_by_text("der Viertelstunden aus den Daten von").count():
            break
        assert time.monotonic() < deadline, await page.locator("main").inner_text()
        await page.wait_for_timeout(1000)
    facts = page.locator("dl.facts")
    await expect(facts).to_contain_text("Zählerdaten des Stadtbezirks (")
    await expect(facts).to_contain_text(
        re.compile(r"\d+,\d % der Viertelstunden aus den Daten von \d+ Zählern")
    )
    await check_page(page, "energy grid study on meter data")
    await page.goto("/verwaltung/energie/netz")
    row = page.get_by_role("row").filter(has_text=re.compile(r"Zählerdaten \(\d+,\d % der Viertelstunden\)"))
    await expect(row).to_have_count(1)
    await check_page(page, "energy grid studies with meter data")
