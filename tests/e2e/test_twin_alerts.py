"""Alerts in Chromium: a street light reports a fault through the SensorThings API, the periodic job raises
an alert from the default fault rule, an operator of the Stadtwerke logs in (one-time password, new
password, second factor), sees it in the inbox and acknowledges it; inbox, alert, rule form, rota and
history pass axe-core and reflow at 320 CSS px.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import create_engine, text

from tests.e2e.conftest import LiveServer
from tests.support.browser import check_page, first_staff_login, open_mail
from tests.support.postgres import free_port
from tests.support.processes import Process, run_cli

pytestmark = pytest.mark.e2e

OPERATOR = "bereitschaft@stadtwerke-duisburg.example"
PASSWORD = "Bereitschaft-Stadtwerke-2026"


def _fault_stream(data_dir: Path) -> tuple[str, int]:
    """A street light of the Stadtwerke and its ``fault`` Datastream id, read from the server's database."""
    engine = create_engine(f"sqlite:///{data_dir / 'stadtkern.sqlite3'}")
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT a.code, d.datastream_id FROM twin_assets a JOIN twin_asset_datastreams d "
                    "ON d.asset_id = a.id WHERE a.type_key = 'street_light' AND d.key = 'fault' "
                    "AND a.organisation = 'stadtwerke' ORDER BY a.code LIMIT 1"
                )
            ).one()
    finally:
        engine.dispose()
    return str(row[0]), int(row[1])


@pytest.fixture(scope="module")
def alerts_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    root = tmp_path_factory.mktemp("alerts")
    data_dir = root / "var"
    port = free_port()
    env = {
        "STADTKERN_DATA_DIR": str(data_dir),
        "STADTKERN_PORT": str(port),
        "STADTKERN_ALERTS_INTERVAL": "10",
    }
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
        created = run_cli(
            ["user", "create", OPERATOR, "--role", "operator", "--scope", "stadtwerke"], env, root
        )
        found = re.search(r"One-time password: (\S+)", created.stdout)
        assert found, created.stdout + created.stderr
        key = run_cli(["sta", "key", "create", "e2e-lights"], env, root)
        token = key.stdout.strip().splitlines()[-1]
        assert key.returncode == 0, key.stdout + key.stderr
        code, stream = _fault_stream(data_dir)
        now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        posted = httpx.post(
            f"{base_url}/sta/v1.1/Datastreams({stream})/Observations",
            json={"phenomenonTime": now, "result": 1},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert posted.status_code == 201, posted.text
        yield LiveServer(base_url, data_dir, OPERATOR, found.group(1)), code


@pytest.fixture
async def page(browser: Browser, alerts_server: tuple[LiveServer, str]) -> AsyncIterator[Page]:
    server, _code = alerts_server
    context = await browser.new_context(base_url=server.base_url, bypass_csp=True, locale="de-DE")
    external: list[str] = []
    context.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith((server.base_url, "data:")) else None,
    )
    new_page = await context.new_page()
    await new_page.set_viewport_size({"width": 1280, "height": 900})
    try:
        yield new_page
    finally:
        await context.close()
    assert external == [], f"pages made requests to third parties: {external}"


async def log_in(page: Page, server: LiveServer) -> None:
    await first_staff_login(page, server.base_url, OPERATOR, server.admin_password, PASSWORD)


async def test_operator_acknowledges_an_alert(page: Page, alerts_server: tuple[LiveServer, str]) -> None:
    server, code = alerts_server
    await log_in(page, server)

    # The periodic evaluation (every 10 s here) raises the alert; the inbox shows it.
    deadline = time.monotonic() + 60
    while True:
        await page.goto(f"{server.base_url}/leitstelle/alarme")
        if await page.locator("tbody tr").filter(has_text=code).count():
            break
        assert time.monotonic() < deadline, await page.content()
        await page.wait_for_timeout(1000)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Alarme")
    row = page.locator("tbody tr").filter(has_text=code)
    await expect(row).to_contain_text("Störung gemeldet")
    await expect(row).to_contain_text("Kritisch")
    await expect(row).to_contain_text("offen")
    await check_page(page, "alerts inbox")

    # No one is on call yet, so every operator of the Stadtwerke got a mail (development mailbox).
    await open_mail(page, "Neuer Alarm: Störung gemeldet")
    await expect(page.locator("body")).to_contain_text(code)
    await page.goto(f"{server.base_url}/leitstelle/alarme")

    # Keyboard: the asset link opens the alert; acknowledge with a note.
    await row.get_by_role("link").focus()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/leitstelle/alarme/\d+$"))
    await check_page(page, "alerts alert")
    await page.get_by_label("Notiz (optional)").fill("Störtrupp ist informiert")
    await page.get_by_role("button", name="Alarm quittieren").click()
    await expect(page.get_by_role("status")).to_contain_text("Der Alarm ist quittiert.")
    await expect(page.locator("dl.facts")).to_contain_text("Störtrupp ist informiert")
    await expect(page.locator("dl.facts")).to_contain_text("quittiert")

    await page.goto(f"{server.base_url}/leitstelle/alarme")
    await expect(page.locator("tbody tr").filter(has_text=code)).to_contain_text("quittiert")

    # Rule form: a bad threshold is named at its field.
    await page.goto(f"{server.base_url}/leitstelle/alarme/regeln/neu")
    await check_page(page, "alerts rule form")
    await page.get_by_label("Name der Regel").fill("Druck zu hoch")
    await page.get_by_label("Anlagentyp").select_option("water_pressure_sensor")
    await page.get_by_label("Datenstrom").fill("pressure")
    await page.get_by_label("Schwellenwert", exact=True).fill("hoch")
    await page.get_by_role("button", name="Regel speichern").click()
    await expect(page.locator("#threshold-error")).to_contain_text("muss eine Zahl sein")
    await check_page(page, "alerts rule form error")
    await page.get_by_label("Schwellenwert", exact=True).fill("6,5")
    await page.get_by_role("button", name="Regel speichern").click()
    await expect(page.get_by_role("status")).to_contain_text("Die Regel ist gespeichert.")
    await expect(page.locator("tbody")).to_contain_text("Druck zu hoch")
    await check_page(page, "alerts rules")

    # Rota: put oneself on call.
    await page.goto(f"{server.base_url}/leitstelle/alarme/bereitschaft")
    await check_page(page, "alerts rota empty")
    await page.get_by_label("Person").select_option(label=OPERATOR)
    await page.get_by_label("Beginn").fill("2026-01-01T08:00")
    await page.get_by_label("Ende").fill("2036-01-01T08:00")
    await page.get_by_role("button", name="Eintragen").click()
    await expect(page.get_by_role("status")).to_contain_text("Die Bereitschaft ist eingetragen.")
    await expect(page.locator("tbody")).to_contain_text(OPERATOR)
    await check_page(page, "alerts rota")

    # Resolve, then the history shows it.
    await page.goto(f"{server.base_url}/leitstelle/alarme")
    await page.locator("tbody tr").filter(has_text=code).get_by_role("link").click()
    await page.get_by_label("Notiz zur Erledigung (optional)").fill("Leuchtmittel getauscht")
    await page.get_by_role("button", name="Alarm erledigen").click()
    await expect(page.get_by_role("status")).to_contain_text("Der Alarm ist erledigt.")
    await page.goto(f"{server.base_url}/leitstelle/alarme/verlauf?typ=street_light")
    await expect(page.locator("tbody tr").filter(has_text=code)).to_contain_text("von Hand")
    await check_page(page, "alerts history")
