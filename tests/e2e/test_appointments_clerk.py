"""The clerk's day in Chromium: log in → day view → check in by booking code → call → the public call
display shows the number without being reloaded. Every page is checked with axe-core and at 320 CSS px.
"""

from __future__ import annotations

import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from stadtkern.appointments import models as m
from stadtkern.appointments import services
from stadtkern.config import load_settings
from stadtkern.db.engine import engine_for, session_factory
from tests.e2e.conftest import REPO, LiveServer
from tests.support.browser import check_page

pytestmark = pytest.mark.e2e

CLERK = "schalter.mitte@example.org"
PASSWORD = "Sonnenwall-77-Termine"
BERLIN = ZoneInfo("Europe/Berlin")


def create_clerk(live_server: LiveServer) -> str:
    """A clerk of Bürgerservice Mitte, made with the CLI as an admin would; returns the one-time password."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STADTKERN_")},
        "STADTKERN_DATA_DIR": str(live_server.data_dir),
    }
    result = subprocess.run(
        [
            str(REPO / ".venv/bin/stadtkern"),
            "user",
            "create",
            CLERK,
            "--role",
            "clerk",
            "--scope",
            "bs-mitte",
        ],
        cwd=str(live_server.data_dir.parent),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"One-time password: (\S+)", result.stdout)
    assert found, result.stdout + result.stderr
    return found.group(1)


async def booking_today(live_server: LiveServer) -> str:
    """A confirmed booking at Bürgerservice Mitte a few minutes from now (today, local time)."""
    settings = load_settings(
        {"STADTKERN_DATA_DIR": str(live_server.data_dir)}, env_file=live_server.data_dir / "no.env"
    )
    engine = engine_for(settings)
    now = datetime.now(UTC)
    starts_at = now + timedelta(minutes=10)
    if starts_at.astimezone(BERLIN).date() != now.astimezone(BERLIN).date():
        starts_at = now - timedelta(minutes=20)  # just before midnight: a booking that began already
    try:
        async with session_factory(engine)() as session:
            office = await session.scalar(select(m.Office).where(m.Office.key == "bs-mitte"))
            service = await session.scalar(select(m.Service).where(m.Service.key == "anmeldung"))
            assert office is not None
            assert service is not None
            code = services.new_code()
            session.add(
                m.Booking(
                    code=code,
                    token_hash=services.token_hash(code + "-e2e"),
                    office_id=office.id,
                    service_ids=[service.id],
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(minutes=15),
                    status=m.CONFIRMED,
                    name="Erika Mustermann",
                    phone="0203 12345",
                    channel="phone",
                    created_at=now,
                    confirmed_at=now,
                )
            )
            await session.commit()
    finally:
        await engine.dispose()
    return code


async def test_clerk_checks_in_and_calls_and_the_display_updates(page: Page, live_server: LiveServer) -> None:
    one_time = create_clerk(live_server)
    code = await booking_today(live_server)

    # The public display, opened first in its own tab: it must update without a reload.
    display = await page.context.new_page()
    await display.goto("/termine/aufruf/bs-mitte")
    await expect(display.locator("h1")).to_contain_text("Bürgerservice Mitte")
    await check_page(display, "appointments call display empty")
    await display.evaluate("window.__notReloaded = true")

    await page.goto("/konto/anmelden")
    await page.get_by_label("E-Mail-Adresse").fill(CLERK)
    await page.locator("#password").fill(one_time)
    await page.get_by_role("button", name="Anmelden").click()
    await expect(page).to_have_url(f"{live_server.base_url}/konto/passwort")
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#password_repeat").fill(PASSWORD)
    await page.get_by_role("button", name="Passwort speichern").click()
    await expect(page.get_by_role("button", name="Abmelden")).to_be_visible()

    await page.goto("/verwaltung/termine")
    await expect(page.get_by_role("heading", name="Terminverwaltung")).to_be_visible()
    await expect(page.get_by_text("Bürgerservice Hamborn")).to_have_count(0)
    await check_page(page, "appointments backoffice overview")

    await page.get_by_role("link", name="Bürgerservice Mitte").click()
    await expect(page.get_by_role("cell", name=code)).to_be_visible()
    # The row of this booking: other e2e tests book at the same office, and near midnight (Berlin) a
    # citizen's booking for tomorrow lands on today's list too.
    await expect(page.get_by_role("row").filter(has_text=code)).to_contain_text("Erika Mustermann")
    await check_page(page, "appointments backoffice day")

    # Check-in: a QR scanner types the code into the field like a keyboard and presses Enter.
    await page.get_by_label("Buchungscode").fill(code.lower())
    await page.get_by_label("Buchungscode").press("Enter")
    await expect(page.get_by_role("status")).to_contain_text("Aufrufnummer: T1")
    await check_page(page, "appointments backoffice checked in")

    await page.get_by_label("Schalter").fill("Schalter 4")
    await page.get_by_role("button", name="Nächste Person aufrufen").click()
    await expect(page.get_by_role("status")).to_contain_text("T1 an Schalter 4")
    await check_page(page, "appointments backoffice called")

    # The display shows the number within a few seconds, in the same document (no reload).
    await expect(display.locator(".call-number")).to_have_text("T1", timeout=15_000)
    await expect(display.locator(".call-counter")).to_contain_text("Schalter 4")
    assert await display.evaluate("window.__notReloaded === true")
    assert "Erika" not in await display.content()
    await check_page(display, "appointments call display")

    # The other back-office pages a clerk uses.
    await page.goto("/verwaltung/termine/bs-mitte/sperren")
    await check_page(page, "appointments backoffice blocks")
    await page.goto("/verwaltung/termine/bs-mitte/buchen?leistungen=anmeldung")
    await check_page(page, "appointments backoffice on behalf")
    next_free = page.get_by_role("link", name=re.compile("Nächster freier Termin"))
    if await next_free.count():  # the chosen day (today) may be closed
        await next_free.click()
    await expect(page.get_by_role("group", name=re.compile("Freie Zeiten"))).to_be_visible()
    await page.get_by_role("radio").first.check()
    await page.get_by_label("Name").fill("Gerda Anruferin")
    await page.get_by_label("Telefon", exact=True).fill("0203 55555")
    await check_page(page, "appointments backoffice on behalf times")
    await page.get_by_role("button", name="Termin buchen").click()
    await expect(page.get_by_role("status")).to_contain_text("Der Termin ist bestätigt")
    await check_page(page, "appointments backoffice booked")
    await page.goto("/verwaltung/termine/bs-mitte/einstellungen")
    await check_page(page, "appointments backoffice settings")
    await page.goto("/verwaltung/termine/statistik")
    await check_page(page, "appointments backoffice statistics")
    await page.goto("/verwaltung/termine/bs-hamborn/einstellungen")
    await expect(page.locator("h1")).to_contain_text("Kein Zugriff")
    await display.close()
