"""The public twin pages in a real browser: the transparency register (map and list) and open data."""

from __future__ import annotations

import csv
import io
import time

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer
from tests.support.browser import check_page

pytestmark = pytest.mark.e2e


async def test_transparency_register_shows_map_and_list(page: Page, live_server: LiveServer) -> None:
    await page.goto("/")
    await (
        page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Transparenz").click()
    )
    await expect(page.locator("h1")).to_have_text("Transparenzregister der Sensoren")
    # The map: district shapes and clustered sensors, drawn from the app's own data (no tiles).
    karte = page.locator("#transparenz-karte")
    await expect(karte.locator(".leaflet-interactive").first).to_be_attached(timeout=20000)
    await page.wait_for_function(
        "Number(document.getElementById('transparenz-karte').dataset.loaded) > 0", timeout=20000
    )
    await expect(karte.locator(".marker-cluster").first).to_be_visible()
    await expect(karte.locator(".leaflet-control-attribution")).to_contain_text(
        "© OpenStreetMap contributors"
    )
    assert await karte.locator(".leaflet-tile").count() == 0
    await expect(page.get_by_text("Diese WLAN-Zugänge speichern keine Geräte-Kennungen")).to_be_visible()
    await check_page(page, "transparency register")

    # The list, filtered by keyboard: kind and district.
    await page.get_by_label("Sensorart", exact=True).select_option(label="Öffentlicher WLAN-Hotspot")
    await page.get_by_label("Stadtbezirk", exact=True).focus()
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_have_text("12 Sensoren gefunden")
    await expect(page.locator("table.register-list")).to_contain_text("Zoo Duisburg")
    await check_page(page, "transparency register filtered")

    await page.locator("#wifi_hotspot h3 a").click()
    await expect(page.locator("h1")).to_have_text("Öffentlicher WLAN-Hotspot")
    await expect(page.get_by_role("heading", name="Keine Geräte-Kennungen")).to_be_visible()
    await check_page(page, "transparency kind wifi")

    await page.goto("/transparenz/household_meter")
    await expect(page.locator("h1")).to_have_text("Intelligenter Stromzähler (Haushalt)")
    await expect(page.get_by_text("Sensoren dieser Art werden nicht einzeln gezeigt")).to_be_visible()
    await check_page(page, "transparency kind household meter")


def _wait_for_a_month(live_server: LiveServer, dataset: str) -> str:
    """The simulator's first tick writes the last day's readings; wait until the catalogue lists a month."""
    deadline = time.monotonic() + 60
    while True:
        document = httpx.get(f"{live_server.base_url}/opendata/catalog.jsonld", timeout=10).json()
        entry = next(d for d in document["dcat:dataset"] if d["@id"].endswith("#" + dataset))
        months = [
            d["dcat:downloadURL"]["@id"].rsplit("/", 1)[1][:-4]
            for d in entry["dcat:distribution"]
            if d["dcat:downloadURL"]["@id"].endswith(".csv")
            and "standorte" not in d["dcat:downloadURL"]["@id"]
        ]
        if months:
            return months[0]
        assert time.monotonic() < deadline, "no month of readings appeared in the catalogue"
        time.sleep(1)


async def test_open_data_lists_datasets_and_a_download_works(page: Page, live_server: LiveServer) -> None:
    month = _wait_for_a_month(live_server, "traffic_counter")
    await page.goto("/opendata")
    await expect(page.locator("h1")).to_have_text("Offene Daten")
    await expect(page.get_by_role("heading", name="Verkehrszählstelle")).to_be_visible()
    await expect(page.locator("#household_meter")).to_have_count(0)
    await check_page(page, "open data")

    link = page.locator(f'a[href="/opendata/traffic_counter/{month}.csv"]')
    async with page.expect_download() as info:
        await link.click()
    download = await info.value
    path = await download.path()
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert rows, "the month's CSV holds readings"
    assert {row["stream"] for row in rows} == {"vehicles"}
    assert all(row["asset"].startswith("traffic-counter-") for row in rows)
    assert all(row["time"].startswith(month) or row["time"][:7] <= month for row in rows)

    catalog = await page.request.get("/opendata/catalog.jsonld")
    assert catalog.ok
    assert (await catalog.json())["@type"] == "dcat:Catalog"
