"""Journey planner in Chromium: search two stops with the combobox (keyboard), see journeys with legs;
and the same without JavaScript through the server's suggestions. axe-core and 320 px on every page.

The timetable tables are created in the live server's SQLite database here until the module's
migration exists (checkfirst: harmless afterwards); the feed is the Google sample feed (folder), whose
calendar ends in 2025, so the searches give a time in June 2025.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from stadtkern.core.clock import SystemClock
from stadtkern.db.engine import create_engine, session_factory
from stadtkern.mobility.importer import import_feed
from tests.e2e.conftest import SCREENSHOTS, LiveServer
from tests.mobility.gtfs_support import FEEDS
from tests.support.browser import check_page

pytestmark = pytest.mark.e2e

WHEN = "2025-06-04T08:03"


async def _prepare(live_server: LiveServer) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{live_server.data_dir / 'stadtkern.sqlite3'}")
    try:
        async with session_factory(engine)() as session, session.begin():
            await import_feed(session, FEEDS / "good_feed", SystemClock())
    finally:
        await engine.dispose()


async def test_search_two_stops_and_see_journeys(page: Page, live_server: LiveServer) -> None:
    await _prepare(live_server)
    await page.goto("/fahrplan")
    await expect(page.locator("h1")).to_have_text("Fahrplanauskunft")
    await check_page(page, "journeys empty")
    start = page.get_by_role("combobox", name="Start")
    await start.fill("stage")
    options = page.get_by_role("option")
    await expect(options.first).to_have_text("Stagecoach Hotel & Casino (Demo)")
    await expect(start).to_have_attribute("aria-expanded", "true")
    await page.screenshot(path=str(SCREENSHOTS / "journeys-suggestions.png"))
    await start.press("ArrowDown")
    await start.press("Enter")
    await expect(start).to_have_value("Stagecoach Hotel & Casino (Demo)")
    goal = page.get_by_role("combobox", name="Ziel")
    await goal.fill("doing")
    await expect(page.get_by_role("option").first).to_have_text("Doing Ave / D Ave N (Demo)")
    await goal.press("ArrowDown")
    await goal.press("Enter")
    await page.get_by_label("Datum und Uhrzeit").fill(WHEN)
    await page.get_by_role("button", name="Verbindungen suchen").click()
    results = page.locator(".journey")
    await expect(results).to_have_count(1)
    first = results.first
    await expect(first.locator("h3")).to_contain_text("08:10 – 08:29")
    await expect(first.locator(".leg-ride")).to_have_count(1)
    await expect(first).to_contain_text("Stagecoach Hotel & Casino (Demo)")
    await expect(first).to_contain_text("Doing Ave / D Ave N (Demo)")
    await check_page(page, "journeys results")
    await page.screenshot(path=str(SCREENSHOTS / "journeys-results.png"), full_page=True)
    await page.set_viewport_size({"width": 320, "height": 800})
    await page.screenshot(path=str(SCREENSHOTS / "journeys-results-320.png"), full_page=True)


async def test_without_javascript_the_server_suggests(browser: Browser, live_server: LiveServer) -> None:
    await _prepare(live_server)
    context = await browser.new_context(
        base_url=live_server.base_url, java_script_enabled=False, bypass_csp=True, locale="de-DE"
    )
    try:
        page = await context.new_page()
        await page.goto("/fahrplan")
        await page.get_by_label("Start").fill("north")
        await page.get_by_label("Ziel").fill("Doing Ave / D Ave N (Demo)")
        await page.get_by_label("Datum und Uhrzeit").fill(WHEN)
        await page.get_by_role("button", name="Verbindungen suchen").click()
        await expect(page.locator(".error-summary")).to_be_visible()
        choice = page.get_by_role("radio", name="North Ave / N A Ave (Demo)")
        await choice.check()
        await page.screenshot(path=str(SCREENSHOTS / "journeys-nojs-choices.png"), full_page=True)
        await page.get_by_role("button", name="Verbindungen suchen").click()
        await expect(page.locator(".journey").first).to_be_visible()
    finally:
        await context.close()
