"""Energy in Chromium: a household enters the activation code from its letter (made with
``stadtkern energy activation-code``), sees its consumption (the demo household's simulated year) and the
tariff check; a wrong code first gets its clear message. Every page passes axe-core and reflows at 320 px."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import func, select

from stadtkern.core.accounts.services import create_user
from stadtkern.core.clock import SystemClock
from stadtkern.db.engine import create_engine, session_factory
from stadtkern.energy.activation import find_meter
from stadtkern.sensorthings import models as m
from tests.e2e.conftest import SCREENSHOTS, LiveServer, log_in_new_admin
from tests.support.browser import check_page
from tests.support.processes import run_cli

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
EMAIL = "haushalt-e2e@example.org"
PASSWORD = "Stromzaehler-2026-sicher"
METER = "household-meter-demo-3"  # with a PV system (twin.toml)


async def _prepare(live_server: LiveServer) -> None:
    """Wait until the simulator has written the demo household's year; then the household's account."""
    engine = create_engine(f"sqlite+aiosqlite:///{live_server.data_dir / 'stadtkern.sqlite3'}")
    try:
        sessions = session_factory(engine)
        deadline = time.monotonic() + 300
        while True:
            count = 0
            async with sessions() as session:
                found = await find_meter(session, METER)
                if found is not None:
                    count = int(
                        await session.scalar(
                            select(func.count())
                            .select_from(m.OBSERVATIONS)
                            .where(m.OBSERVATIONS.c.datastream_id == found.datastream_id)
                        )
                        or 0
                    )
            # The first simulator tick also catches up a day of the whole city in long write transactions:
            # wait for it, so that page loads do not queue behind it on the one SQLite writer.
            log = (live_server.data_dir.parent / "server.log").read_text()
            if count > 30_000 and "observations written" in log:
                break
            assert time.monotonic() < deadline, f"the simulator wrote only {count} readings of {METER}"
            await asyncio.sleep(2)
        # Written once the simulator's long first tick is over: this process is not in the server's
        # queue of writers, so it would otherwise wait on SQLite's busy handler behind that tick.
        async with sessions() as session:
            await create_user(
                session,
                email=EMAIL,
                password=PASSWORD,
                now=SystemClock().now(),
                display_name="Haushalt",
                verified=True,
            )
            await session.commit()
    finally:
        await engine.dispose()


def _letter_code(live_server: LiveServer) -> str:
    result = run_cli(
        ["energy", "activation-code", METER],
        {"STADTKERN_DATA_DIR": str(live_server.data_dir)},
        live_server.data_dir.parent,
    )
    assert result.returncode == 0, result.stderr
    found = re.search(r"([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", result.stdout)
    assert found, result.stdout
    return found.group(1)


async def test_activation_to_tariff_result(page: Page, live_server: LiveServer) -> None:
    await _prepare(live_server)
    code = _letter_code(live_server)

    await page.goto("/konto/anmelden?next=/energie")
    await page.get_by_label("E-Mail-Adresse").fill(EMAIL)
    await page.locator("#password").fill(PASSWORD)
    await page.get_by_role("button", name="Anmelden").click()
    await page.goto("/energie")
    await expect(page.get_by_role("heading", name="Stromzähler freischalten", level=1)).to_be_visible()
    await check_page(page, "energy activation")

    # A mistyped code: a clear message next to the field, then the right one (typed in lower case).
    await page.get_by_label("Aktivierungscode").fill("ABCD-EFGH-JKLM")
    await page.get_by_role("button", name="Zähler freischalten").click()
    await expect(page.locator("#code-error")).to_contain_text("Diesen Aktivierungscode kennen wir nicht")
    await check_page(page, "energy activation wrong code")
    await page.get_by_label("Aktivierungscode").fill(code.lower())
    await page.get_by_role("button", name="Zähler freischalten").click()

    await expect(page.get_by_role("heading", name="Mein Stromverbrauch")).to_be_visible()
    await expect(page.get_by_text("Ihr Zähler ist freigeschaltet")).to_be_visible()
    await expect(page.locator("#verbrauch-chart canvas")).to_be_visible()
    await check_page(page, "energy consumption month")
    # The same figures as a table (the chart's accessible alternative).
    await page.get_by_text("Werte als Tabelle").click()
    await expect(page.locator("table").first.locator("tbody tr").first).to_be_visible()

    # demo-3 has a PV system: the activation gave it the feed-in stream too. A June month shows it as the
    # chart's third series (dashed, own colour), in the table and in the totals.
    await page.goto(f"/energie?zaehler={METER}&ansicht=monat&datum=2026-06-15")
    await expect(page.locator("#verbrauch-chart .u-legend")).to_contain_text("Ihre Einspeisung")
    series = await page.evaluate(
        "() => Array.from(document.querySelectorAll('#verbrauch-chart .u-legend .u-series')).length"
    )
    assert series == 4  # the x axis, consumption, standard profile, feed-in
    await expect(page.locator("#einspeisung-summe")).to_contain_text("Eingespeist:")
    await expect(page.locator("#einspeisung-erklaerung")).to_contain_text("misst der Zähler nicht")
    await page.get_by_text("Werte als Tabelle").click()
    await expect(page.get_by_role("columnheader", name="Ihre Einspeisung (kWh)")).to_be_visible()
    await page.screenshot(path=str(SCREENSHOTS / "energy-pv-june.png"), full_page=True)
    await check_page(page, "energy consumption with feed-in")

    await page.get_by_label("Ansicht").select_option("tag")
    await page.get_by_role("button", name="Anzeigen").click()
    await expect(page.get_by_role("heading", name=re.compile("je Viertelstunde"))).to_be_visible()
    await check_page(page, "energy consumption day")
    await page.get_by_label("Ansicht").select_option("jahr")
    await page.get_by_role("button", name="Anzeigen").click()
    await expect(page.get_by_role("heading", name=re.compile("je Monat"))).to_be_visible()
    await check_page(page, "energy consumption year")

    await page.get_by_role("link", name="Zum Tarifcheck").click()
    await expect(page.get_by_role("heading", name="Tarifcheck", level=1)).to_be_visible()
    await expect(page.locator("#bester-tarif")).to_contain_text("Am günstigsten für Sie")
    rows = page.locator("#tarife tbody tr")
    await expect(rows).to_have_count(4)
    await expect(page.locator("#flex-ergebnis")).to_contain_text("Ersparnis")
    await expect(page.locator("#datensparsam")).to_contain_text("nur Monatssummen")
    await expect(page.locator("#einspeisung")).to_contain_text("in das Netz eingespeist")
    await expect(page.locator("#einspeisung")).to_contain_text("7,78 ct/kWh")
    await page.screenshot(path=str(SCREENSHOTS / "energy-pv-tariff-check.png"), full_page=True)
    await check_page(page, "energy tariff check")

    # Keyboard: the flexible-load form works without a mouse.
    await page.get_by_label("Energie je Tag (kWh)").fill("12")
    await page.get_by_label("Energie je Tag (kWh)").press("Enter")
    await expect(page.locator("#flex-ergebnis")).to_contain_text("je 12 kWh")


async def test_admin_makes_an_activation_code(page: Page, live_server: LiveServer) -> None:
    await log_in_new_admin(page, live_server, "energie-admin@example.org", PASSWORD, "Energie-Admin")

    await page.goto("/verwaltung/energie")
    await expect(
        page.get_by_role("heading", name="Aktivierungscodes für Stromzähler", level=1)
    ).to_be_visible()
    await check_page(page, "energy admin codes")
    await page.get_by_label("Zählernummer").fill("household-meter-gibt-es-nicht")
    await page.get_by_role("button", name="Code erzeugen").click()
    await expect(page.locator("#meter_code-error")).to_contain_text("gibt es nicht")
    await check_page(page, "energy admin unknown meter")
    await page.get_by_label("Zählernummer").fill("household-meter-demo-2")
    await page.get_by_role("button", name="Code erzeugen").click()
    await expect(page.locator("#neuer-code")).to_have_text(
        re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$")
    )
    await check_page(page, "energy admin code issued")
