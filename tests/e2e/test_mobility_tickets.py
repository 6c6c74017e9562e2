"""Tickets in Chromium: plan a journey → its ticket link → mandate → buy → show the ticket → verify it on the inspector page, then cut the
network and verify again; forged, expired, wrong-zone and replayed tickets are refused with the reason.

Extra codes are signed with the server's own key file, the way
the server signs them.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import BrowserContext, Page, expect

from stadtkern.core.accounts.services import create_user
from stadtkern.core.clock import SystemClock
from stadtkern.db.engine import create_engine, session_factory
from stadtkern.mobility import tickets
from stadtkern.mobility.importer import import_feed
from tests.e2e.conftest import LiveServer
from tests.support.browser import check_page

pytestmark = pytest.mark.e2e

BERLIN = ZoneInfo("Europe/Berlin")
REPO = Path(__file__).resolve().parents[2]
EMAIL = "fahrgast@example.org"
PASSWORD = "Rheinufer-2026-sicher"


async def _prepare(live_server: LiveServer) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{live_server.data_dir / 'stadtkern.sqlite3'}")
    try:
        # The live server is shared: another test may have loaded another feed; plan on Duisburg's.
        async with session_factory(engine)() as session, session.begin():
            await import_feed(session, REPO / "cities" / "duisburg" / "gtfs", SystemClock())
        async with session_factory(engine)() as session:
            await create_user(
                session,
                email=EMAIL,
                password=PASSWORD,
                now=SystemClock().now(),
                display_name="Fahrgast Test",
                verified=True,
            )
            await session.commit()
    finally:
        await engine.dispose()


def _server_signer(live_server: LiveServer) -> tickets.TicketSigner:
    return tickets.TicketSigner(tickets._read_key(live_server.data_dir / tickets.KEY_FILE))


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "t": "E2E" + str(now),
        "p": "tag24",
        "pn": "24-StundenTicket (1 Person)",
        "l": "A",
        "c": "Duisburg",
        "f": now - 60,
        "u": now + 3600,
        "s": 0,
    }
    claims.update(overrides)
    return claims


def _forge(code: str) -> str:
    prefix, payload, signature = code.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["l"] = "C"  # upgrade the level, keep the signature
    tampered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{prefix}.{tampered}.{signature}"


async def _check(page: Page, code: str, reason: str, place: str = "Duisburg") -> None:
    await page.get_by_label("Kontrollort").select_option(place)
    await page.get_by_label("Ticket-Code").fill(code)
    await page.get_by_role("button", name="Prüfen").click()
    await expect(page.locator("#ergebnis")).to_have_attribute("data-reason", reason)


async def test_buy_show_and_verify_offline(
    page: Page, context: BrowserContext, live_server: LiveServer
) -> None:
    await _prepare(live_server)
    await page.goto("/konto/anmelden")
    await page.get_by_label("E-Mail-Adresse").fill(EMAIL)
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#password").press("Enter")
    await expect(page.get_by_role("button", name="Abmelden")).to_be_visible()

    # The shop: prices, and no buying without a mandate.
    await page.goto("/tickets")
    await expect(page.locator("h1")).to_have_text("Tickets")
    await check_page(page, "tickets shop")
    await page.get_by_role("link", name="Lastschriftmandat erteilen").click()

    # The mandate: a wrong IBAN is named in German next to the field.
    await expect(page.locator("h1")).to_have_text("SEPA-Lastschriftmandat")
    await check_page(page, "tickets mandate")
    await page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 01")
    await page.get_by_role("button", name="Mandat erteilen").click()
    await expect(page.locator(".error-summary")).to_contain_text("Die Prüfziffer der IBAN stimmt nicht")
    await check_page(page, "tickets mandate with errors")
    await page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 00")
    await page.get_by_label("Ich erteile dieses SEPA-Lastschriftmandat.").check()
    await page.get_by_role("button", name="Mandat erteilen").click()
    await expect(page.locator(".notice-success")).to_contain_text("Lastschriftmandat ist erteilt")

    # Plan a journey on the Duisburg demo timetable (loaded on first start) and follow its ticket link:
    # the shop opens with the journey's level and city.
    tomorrow = (datetime.now(BERLIN) + timedelta(days=1)).strftime("%Y-%m-%dT10:00")
    await page.goto("/fahrplan?" + urlencode({"von": "Duisburg Hbf", "nach": "Rathaus", "zeit": tomorrow}))
    await check_page(page, "journeys for a ticket")
    await page.get_by_role("link", name="Ticket kaufen").first.click()
    await expect(page.locator("h1")).to_have_text("Tickets")
    await expect(page.get_by_label("Preisstufe A – innerhalb einer Stadt")).to_be_checked()
    await expect(page.get_by_label("EinzelTicket Erwachsene")).to_be_checked()
    await expect(page.get_by_label("Stadt, in der die Fahrt beginnt")).to_have_value("Duisburg")
    await page.get_by_role("button", name="Kostenpflichtig kaufen").click()
    await expect(page.locator("h1")).to_have_text("Meine Tickets")
    await expect(page.locator(".ticket svg")).to_be_visible()
    await check_page(page, "tickets mine")
    code = (await page.locator(".ticket-code code").first.text_content() or "").strip()
    assert code.startswith("SK1.")

    # The inspector page: valid while online.
    await page.goto("/kontrolle")
    await check_page(page, "tickets inspector")
    await page.evaluate("window.stadtkernKontrolle.ready")
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    await _check(page, code, "ok")
    await expect(page.locator("#ergebnis")).to_contain_text("Gültig")

    # Cut the network: everything below runs in the browser alone.
    await context.set_offline(True)
    try:
        await _check(page, code, "replayed")
        await expect(page.locator("#ergebnis")).to_contain_text("schon kontrolliert")
        signer = _server_signer(live_server)
        fresh = signer.sign(_claims())
        await _check(page, fresh, "ok")
        await _check(page, fresh, "ok")  # a 24-hour ticket may be shown again
        await _check(page, _forge(fresh), "forged")
        await expect(page.locator("#ergebnis")).to_contain_text("gefälscht")
        now = int(time.time())
        await _check(page, signer.sign(_claims(t="OLD1", f=now - 7200, u=now - 60)), "expired")
        await _check(page, signer.sign(_claims(t="ZONE1")), "wrong_zone", place="Essen")
        await _check(page, "SK1.kaputt", "malformed")
        await check_page(page, "tickets inspector offline refused")
        # Seen tickets live in localStorage on this device.
        seen = await page.evaluate(
            "Object.keys(JSON.parse(localStorage.getItem('stadtkern.kontrolle.gesehen')))"
        )
        assert set(seen) >= {tickets.read_code(code)[2]["t"], tickets.read_code(fresh)[2]["t"]}
        # Reopened without network: the service worker serves the page; the seen list is still there.
        await page.reload()
        await expect(page.locator("h1")).to_have_text("Ticketkontrolle")
        assert await page.evaluate("navigator.serviceWorker.controller !== null")
        await page.evaluate("window.stadtkernKontrolle.ready")
        await _check(page, code, "replayed")
        await _check(page, signer.sign(_claims(t="AFTER-RELOAD")), "ok")
    finally:
        await context.set_offline(False)
