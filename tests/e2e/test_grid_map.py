"""The grid study's map and chart in Chromium: a base case and a +40 wallboxes scenario on the same day;
the scenario's page draws every line as an SVG path of the Leaflet overlay (overloaded ones in their own
band), bus and transformer markers, and the uPlot chart; numbers in German; axe-core and 320 px; the
keyboard passes through the map; and the page runs under the app's own Content-Security-Policy."""

from __future__ import annotations

import re
import time

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import SCREENSHOTS, LiveServer, log_in_new_admin
from tests.support.browser import check_page

pytestmark = pytest.mark.e2e

EMAIL = "netzkarte-admin@example.org"
PASSWORD = "Netzkarte-2026-sicher"


async def _queue(page: Page, wallboxes: str) -> str:
    await page.goto("/verwaltung/energie/netz")
    await page.get_by_label("Tage").fill("1")
    await page.get_by_label("Erster Tag").fill("2025-01-13")
    await page.get_by_label("Zusätzliche Wallboxen").fill(wallboxes)
    await page.get_by_role("button", name="Studie starten").click()
    await expect(page.get_by_role("heading", name=re.compile(r"Netzstudie \d+"), level=1)).to_be_visible()
    return page.url


async def _wait_until_done(page: Page, url: str, text: str) -> None:
    # Generous: the first study in a fresh server waits for the demo city's start-up jobs and loads the grid.
    deadline = time.monotonic() + 480
    while True:
        await page.goto(url)
        if await page.get_by_text(text).count():
            return
        assert time.monotonic() < deadline, await page.locator("main").inner_text()
        await page.wait_for_timeout(1000)


async def test_the_study_page_draws_the_overloaded_lines_on_a_map_and_a_chart(
    page: Page, live_server: LiveServer, browser: Browser
) -> None:
    await log_in_new_admin(page, live_server, EMAIL, PASSWORD, "Netzkarte-Admin")
    base_url = await _queue(page, "0")
    await _wait_until_done(page, base_url, "Karte der Leitungsauslastung")
    scenario_url = await _queue(page, "40")
    await _wait_until_done(page, scenario_url, "Vergleich mit dem Grundfall")

    await expect(page.locator("html[data-grid-map-lines='42']")).to_have_count(1)
    overlay = page.locator("#netzkarte .leaflet-overlay-pane svg")
    await expect(overlay.locator("path.grid-line")).to_have_count(42)
    over = await overlay.locator("path.grid-line.band-over").count()
    assert over >= 1
    summary = await page.locator("#summary-heading + ul").inner_text()
    assert f"Leitungen über 100 %: {over}," in summary
    await expect(overlay.locator("path.grid-bus")).to_have_count(43)  # 44 buses, the MV one is the trafo
    await expect(overlay.locator("path.grid-district")).to_have_count(1)
    trafo = page.locator("#netzkarte .grid-trafo")
    await expect(trafo).to_have_count(1)
    assert re.search(
        r"Transformator .*: Höchste Auslastung \d+,\d\d %", await trafo.get_attribute("title") or ""
    )
    # Overloaded lines are thicker and dashed, not only another colour.
    style = await overlay.locator("path.grid-line.band-over").first.evaluate(
        "p => { const s = getComputedStyle(p); return [s.strokeDasharray, s.strokeWidth]; }"
    )
    assert style[0] not in ("none", "")
    assert float(style[1].rstrip("px")) >= 8
    # The chart: a canvas, the base case in the legend, numbers with a decimal comma.
    await expect(page.locator("#netz-chart canvas")).to_have_count(1)
    await expect(page.locator("#netz-chart .u-legend")).to_contain_text("Grundfall")
    await expect(page.locator("#lines-heading ~ .table-wrap td").first).to_have_text(re.compile(r"^\d+,\d\d"))
    # A tooltip names the line and its loading.
    await overlay.locator("path.grid-line.band-over").first.hover()
    await expect(page.locator(".leaflet-tooltip")).to_contain_text(
        re.compile(r"Leitung .*\d+,\d\d %.*überlastet")
    )
    await check_page(page, "energy grid study map")

    # Keyboard: Tab reaches the map, then the transformer marker, then leaves the map to the caption's link.
    await page.locator("#map-heading").click()
    focused = []
    for _ in range(8):
        await page.keyboard.press("Tab")
        focused.append(
            await page.evaluate(
                "() => { const a = document.activeElement; const m = document.getElementById('netzkarte');"
                " return m.contains(a) ? (a === m ? 'map' : 'in-map') : (a.getAttribute('href') || a.tagName); }"
            )
        )
    assert "map" in focused, focused
    after = focused[focused.index("map") + 1 :]
    assert any(f not in ("map", "in-map") for f in after), focused  # Tab leaves the map
    assert "#leitungen" in after, focused

    # The app's own Content-Security-Policy (the shared context bypasses it only to inject axe-core).
    strict = await browser.new_context(base_url=live_server.base_url, locale="de-DE")
    try:
        cookies = await page.context.cookies()
        await strict.add_cookies(cookies)
        strict_page = await strict.new_page()
        refused: list[str] = []
        strict_page.on(
            "console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None
        )
        await strict_page.goto(scenario_url)
        await expect(strict_page.locator("html[data-grid-map-lines='42']")).to_have_count(1)
        await expect(strict_page.locator("#netz-chart canvas")).to_have_count(1)
        await strict_page.set_viewport_size({"width": 1280, "height": 900})
        await strict_page.locator("#map-heading").scroll_into_view_if_needed()
        await strict_page.screenshot(path=str(SCREENSHOTS / "energy-grid-study-map-view.png"))
        assert refused == []
    finally:
        await strict.close()
