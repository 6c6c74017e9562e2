"""The operator console in Chromium: an operator of the Stadtwerke logs in (one-time password, new password,
second factor), sees the 12 WLAN hotspots on the map, opens one from the map and sees its chart; map,
asset page and dashboard pass axe-core and reflow at 320 CSS px; the list and filters work by keyboard.

A server of its own (the demo city, simulator off) gets the last day of WLAN readings from
`stadtkern simulate --from ... --type wifi_hotspot`, the path documented in docs/simulator.md.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import LiveServer
from tests.support.browser import check_page, first_staff_login
from tests.support.postgres import free_port
from tests.support.processes import Process, run_cli

pytestmark = pytest.mark.e2e

OPERATOR = "leitstelle@stadtwerke-duisburg.example"
KEYS: dict[str, str] = {}
PASSWORD = "Leitstelle-Stadtwerke-2026"


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("console")
    data_dir = root / "var"
    port = free_port()
    env = {"STADTKERN_DATA_DIR": str(data_dir), "STADTKERN_PORT": str(port)}
    with Process.stadtkern(["run"], env, root, root / "server.log") as server:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.alive(), server.output
            assert time.monotonic() < deadline, server.output
            time.sleep(0.2)
        since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        simulated = run_cli(
            ["simulate", "--from", since, "--type", "wifi_hotspot", "--type", "street_light"],
            env,
            root,
            timeout=300,
        )
        assert simulated.returncode == 0, simulated.stdout + simulated.stderr
        created = run_cli(
            ["user", "create", OPERATOR, "--role", "operator", "--scope", "stadtwerke"], env, root
        )
        found = re.search(r"One-time password: (\S+)", created.stdout)
        assert found, created.stdout + created.stderr
        key = run_cli(["sta", "key", "create", "e2e-console"], env, root)
        assert key.returncode == 0, key.stdout + key.stderr
        KEYS["write"] = key.stdout.strip().splitlines()[-1]
        yield LiveServer(base_url, data_dir, OPERATOR, found.group(1))


@pytest.fixture
async def page(browser: Browser, console_server: LiveServer) -> AsyncIterator[Page]:
    """A page of its own context (not the shared live server's); bypass_csp only lets axe-core in."""
    context = await browser.new_context(base_url=console_server.base_url, bypass_csp=True, locale="de-DE")
    external: list[str] = []
    context.on(
        "request",
        lambda r: (
            external.append(r.url) if not r.url.startswith((console_server.base_url, "data:")) else None
        ),
    )
    new_page = await context.new_page()
    errors: list[str] = []
    new_page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Failed loads are caught by the response listener (which leaves out the browser's favicon probe).
    new_page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    new_page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    await new_page.set_viewport_size({"width": 1280, "height": 900})
    try:
        yield new_page
    finally:
        await context.close()
    assert external == [], f"pages made requests to third parties: {external}"
    assert errors == [], f"errors in the browser: {errors}"


async def log_in(page: Page, server: LiveServer) -> None:
    await first_staff_login(page, server.base_url, OPERATOR, server.admin_password, PASSWORD)


async def test_operator_map_asset_page_and_dashboard(page: Page, console_server: LiveServer) -> None:
    server = console_server
    await log_in(page, server)

    # Keyboard only: tick "WLAN-Hotspot" in the filter and submit.
    await page.goto(f"{server.base_url}/leitstelle")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Leitstelle")
    await page.locator("html[data-map-drawn]").wait_for(state="attached", timeout=30_000)
    await check_page(page, "console map all")
    hotspot_box = page.get_by_label(re.compile("WLAN"))
    await hotspot_box.focus()
    await page.keyboard.press("Space")
    await expect(hotspot_box).to_be_checked()
    await page.get_by_role("button", name="Filtern").focus()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"typ=wifi_hotspot"))
    await page.locator("html[data-map-drawn]").wait_for(state="attached", timeout=30_000)
    assert await page.locator("html").get_attribute("data-map-drawn") == "12"
    await expect(page.locator(".console-list tbody tr")).to_have_count(12)
    await expect(page.locator(".leaflet-overlay-pane canvas").first).to_be_attached()
    await expect(page.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap")
    await check_page(page, "console map hotspots")

    # The list is reachable by Tab: the first asset link takes focus and opens with Enter.
    first_link = page.locator(".console-list tbody a").first
    await first_link.focus()
    assert await page.evaluate("document.activeElement.closest('table') !== null")

    # On the map: open clusters until single markers show, then a marker's popup and its link.
    for _attempt in range(8):
        if await page.locator(".console-marker").count():
            break
        await page.locator(".console-cluster").first.click()
        await page.wait_for_timeout(600)
    marker = page.locator(".console-marker").first
    await marker.click()
    await page.get_by_role("link", name="Anlage öffnen").click()
    await expect(page).to_have_url(re.compile(r"/leitstelle/anlagen/wifi-hotspot-"))
    await expect(page.locator("#reihe-logins[data-drawn='true'] canvas")).to_be_visible()
    await expect(page.get_by_text("Werte als Tabelle").first).to_be_visible()
    await check_page(page, "console asset hotspot")
    await page.get_by_role("link", name="7 Tage").click()
    await expect(page).to_have_url(re.compile(r"bereich=7t"))
    await expect(page.locator("#reihe-logins canvas")).to_be_visible()

    await page.goto(f"{server.base_url}/leitstelle/kennzahlen")
    await expect(page.get_by_role("heading", name="Öffentliches WLAN in diesem Monat")).to_be_visible()
    await check_page(page, "console dashboard")

    # Live: a lamp reports a fault through the SensorThings API; the open map is told within seconds.
    await page.goto(f"{server.base_url}/leitstelle?typ=street_light")
    await page.locator("html[data-map-drawn]").wait_for(state="attached", timeout=30_000)
    row = page.locator(".console-list tbody tr").first
    code = await row.get_attribute("data-code")
    assert code
    # The lamp's fault Datastream, from its asset page (opened in a second tab).
    other = await page.context.new_page()
    await other.goto(f"{server.base_url}/leitstelle/anlagen/{code}")
    link = other.get_by_role("row", name=re.compile("Störung")).get_by_role("link")
    fault = int(re.findall(r"\d+", await link.inner_text())[0])
    await other.close()
    await page.wait_for_timeout(1000)  # the stream has subscribed
    async with httpx.AsyncClient() as http:
        posted = await http.post(
            f"{server.base_url}/sta/v1.1/Observations",
            json={
                "phenomenonTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "result": 1,
                "Datastream": {"@iot.id": fault},
            },
            headers={"Authorization": f"Bearer {KEYS['write']}"},
        )
    assert posted.status_code == 201, posted.text
    await expect(page.locator("#live-status")).to_contain_text("1 Anlagen", timeout=20_000)
    await expect(row.locator(".state-text")).to_have_text("gestört")

    # A household meter of a demo household: the Stadtwerke's operator may look, and it is logged.
    await page.goto(f"{server.base_url}/leitstelle/anlagen/household-meter-demo-1")
    await expect(page.get_by_text("protokolliert")).to_be_visible()
    await check_page(page, "console asset household meter")
