"""The admin's first login in Chromium: one-time password → new password → two-factor set-up → admin pages.

Every admin page is checked with axe-core and at 320 CSS px.
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer
from tests.support.browser import check_page

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Verwaltung-Duisburg-2026"


async def test_admin_sets_password_and_second_factor_then_manages_users(
    page: Page, live_server: LiveServer
) -> None:
    await page.goto("/konto/anmelden")
    await page.get_by_label("E-Mail-Adresse").fill(live_server.admin_email)
    await page.locator("#password").fill(live_server.admin_password)
    await page.get_by_role("button", name="Anmelden").click()

    # A one-time password must be replaced first.
    await expect(page).to_have_url(f"{live_server.base_url}/konto/passwort")
    await check_page(page, "change one-time password")
    await page.locator("#password").fill(NEW_PASSWORD)
    await page.locator("#password_repeat").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Passwort speichern").click()

    # Admins must set up two-factor login: a QR code and the key for manual entry.
    await page.get_by_label("E-Mail-Adresse").or_(page.locator("#totp-secret")).first.wait_for()
    if await page.get_by_label("E-Mail-Adresse").count():
        await page.get_by_label("E-Mail-Adresse").fill(live_server.admin_email)
        await page.locator("#password").fill(NEW_PASSWORD)
        await page.get_by_role("button", name="Anmelden").click()
    secret = (await page.locator("#totp-secret").inner_text()).replace(" ", "")
    await expect(page.locator("svg").first).to_be_visible()
    await check_page(page, "two factor enrolment")
    await page.get_by_label("Code aus der App").fill(pyotp.TOTP(secret).at(time.time()))
    await page.get_by_role("button", name="Bestätigen").click()

    await page.goto("/verwaltung")
    await expect(page.locator("h1")).to_be_visible()
    await check_page(page, "admin home")

    # Create a staff account; its one-time password is shown once.
    await page.goto("/verwaltung/nutzer/neu")
    await check_page(page, "admin new staff")
    await page.get_by_label("E-Mail-Adresse").fill("leitstelle@example.org")
    await page.get_by_role("button").filter(has_text="anlegen").first.click()
    await expect(page.locator("code").first).to_be_visible()
    await check_page(page, "admin staff created")

    await page.goto("/verwaltung/nutzer")
    await check_page(page, "admin users")
    await page.get_by_role("link", name="leitstelle@example.org").click()
    # The detail page must have loaded (its read is audited) before the next page is opened.
    await expect(page).to_have_url(re.compile(r"/verwaltung/nutzer/\d+$"))
    await expect(page.locator("h1")).to_contain_text("leitstelle@example.org")
    await check_page(page, "admin user detail")

    await page.goto("/verwaltung/protokoll")
    await expect(page.locator("td code", has_text="personal_data.read").first).to_be_visible()
    await check_page(page, "admin audit log")

    # Write keys for sensors: created in the browser, shown once, accessible.
    await page.goto("/verwaltung/sensorthings-schluessel")
    await check_page(page, "admin sensor keys")
    await page.locator("#name").fill("Gateway Hamborn")
    await page.get_by_role("button", name="Schlüssel anlegen").click()
    await expect(page.locator("#new-key")).to_contain_text("stk_")
    await check_page(page, "admin sensor key created")
