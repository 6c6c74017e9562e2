"""Grid analysis in Chromium: an admin queues a base case and a wallbox scenario on
/verwaltung/energie/netz, a bad value first gets its message naming the field, the app's job runner
computes both, and the result page compares them. Every page passes axe-core and reflows at 320 px."""

from __future__ import annotations

import re
import time

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer, log_in_new_admin
from tests.support.browser import check_page

pytestmark = pytest.mark.e2e

EMAIL = "netz-admin@example.org"
PASSWORD = "Netzanalyse-2026-sicher"


async def _login_admin(page: Page, live_server: LiveServer) -> None:
    await log_in_new_admin(page, live_server, EMAIL, PASSWORD, "Netz-Admin")


async def test_admin_compares_a_wallbox_scenario_with_the_base_case(
    page: Page, live_server: LiveServer
) -> None:
    await _login_admin(page, live_server)
    await page.goto("/verwaltung/energie/netz")
    await expect(page.get_by_role("heading", name="Netzanalyse", level=1)).to_be_visible()
    await check_page(page, "energy grid studies")

    await page.get_by_label("Tage").fill("1")
    await page.get_by_label("Erster Tag").fill("2025-01-13")
    await page.get_by_label("Zusätzliche Wallboxen").fill("viele")
    await page.get_by_role("button", name="Studie starten").click()
    await expect(page.locator("#wallboxes-error")).to_contain_text(
        "Zusätzliche Wallboxen: muss eine ganze Zahl sein"
    )
    await check_page(page, "energy grid bad input")

    await page.get_by_label("Zusätzliche Wallboxen").fill("0")
    await page.get_by_role("button", name="Studie starten").click()
    await expect(page.get_by_role("heading", name=re.compile(r"Netzstudie \d+"), level=1)).to_be_visible()
    base_url = page.url
    await page.goto("/verwaltung/energie/netz")
    await page.get_by_label("Tage").fill("1")
    await page.get_by_label("Erster Tag").fill("2025-01-13")
    await page.get_by_label("Zusätzliche Wallboxen").press("Control+a")
    await page.get_by_label("Zusätzliche Wallboxen").fill("120")
    await page.get_by_label("Zusätzliche Wallboxen").press("Enter")  # keyboard submits
    await expect(page.get_by_role("heading", name=re.compile(r"Netzstudie \d+"), level=1)).to_be_visible()
    scenario_url = page.url
    assert scenario_url != base_url

    # The app's job runner computes both; reload until the scenario's comparison shows.
    deadline = time.monotonic() + 180
    while True:
        await page.goto(scenario_url)
        if await page.get_by_text("Vergleich mit dem Grundfall").count():
            break
        assert time.monotonic() < deadline, await page.locator("main").inner_text()
        await page.wait_for_timeout(1000)
    await expect(page.get_by_text("(überlastet)").first).to_be_visible()
    await check_page(page, "energy grid study result")
    await page.goto("/verwaltung/energie/netz")
    await expect(page.get_by_text("fertig")).to_have_count(2)
    await check_page(page, "energy grid studies done")
