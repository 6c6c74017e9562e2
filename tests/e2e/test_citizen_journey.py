"""A citizen's whole journey in Chromium: register → verification mail → login → export → delete.

Every page on the way is checked with axe-core and at 320 CSS px. The mail is read where a person in the
demo reads it: the development mailbox.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer
from tests.support.browser import check_page, open_mail

pytestmark = pytest.mark.e2e

EMAIL = "erika.mustermann@example.org"
PASSWORD = "Rheinufer-2026-sicher"


async def test_register_verify_login_export_delete(page: Page, live_server: LiveServer) -> None:
    # Register, with an error first: the form comes back with a message at the wrong field.
    await page.goto("/konto/registrieren")
    await check_page(page, "register")
    await page.get_by_label("E-Mail-Adresse").fill("keine-adresse")
    await page.get_by_role("button", name="Konto anlegen").click()
    await expect(page.locator(".error-summary")).to_be_visible()
    await check_page(page, "register with errors")

    await page.get_by_label("E-Mail-Adresse").fill(EMAIL)
    await page.get_by_label("Name (freiwillig)").fill("Erika Mustermann")
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#password_repeat").fill(PASSWORD)
    await page.get_by_label("Ich habe die Datenschutzerklärung gelesen.").check()
    await page.get_by_role("button", name="Konto anlegen").click()
    await expect(page.locator("h1")).to_contain_text("Bitte prüfen Sie Ihr Postfach")
    await check_page(page, "register check mail")

    # The verification mail, in the development mailbox; its link confirms the address.
    await open_mail(page, "Bitte bestätigen Sie Ihre E-Mail-Adresse")
    await check_page(page, "dev mail message")
    await page.locator(".mail-body a[href*='/konto/bestaetigen/']").first.click()
    await check_page(page, "verify address")
    await page.get_by_role("button", name="E-Mail-Adresse bestätigen").click()

    # Log in, by keyboard alone.
    await expect(page).to_have_url(f"{live_server.base_url}/konto/anmelden?hinweis=bestaetigt")
    await check_page(page, "login")
    await page.get_by_label("E-Mail-Adresse").fill(EMAIL)
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#password").press("Enter")
    await expect(page.get_by_role("button", name="Abmelden")).to_be_visible()

    await page.goto("/konto")
    await check_page(page, "account")

    # The privacy center: request the export, watch it become ready, download it.
    await page.goto("/meine-daten")
    await expect(page.locator("h1")).to_have_text("Meine Daten")
    await check_page(page, "privacy center")
    await page.get_by_role("button", name="Daten herunterladen").click()
    download_link = page.get_by_role("link", name="Herunterladen (ZIP")
    await expect(download_link).to_be_visible(timeout=20_000)
    await check_page(page, "privacy center export ready")
    async with page.expect_download() as download_info:
        await download_link.click()
    download = await download_info.value
    archive = zipfile.ZipFile(io.BytesIO((await download.path()).read_bytes()))
    everything = "".join(archive.read(name).decode() for name in archive.namelist() if name.endswith(".json"))
    assert EMAIL in everything
    assert json.loads(archive.read("manifest.json"))

    # Delete the account: first the list of what goes and what stays, then the confirmation.
    await page.goto("/meine-daten/konto-loeschen")
    await check_page(page, "erase account")
    await page.locator("#password").fill(PASSWORD)
    await page.get_by_label("Ja, ich möchte mein Konto und meine Daten endgültig löschen.").check()
    await page.get_by_role("button", name="Konto endgültig löschen").click()
    await expect(page.get_by_role("link", name="Anmelden")).to_be_visible()
    await check_page(page, "account erased")

    # The account is gone: the same credentials no longer work.
    await page.goto("/konto/anmelden")
    await page.get_by_label("E-Mail-Adresse").fill(EMAIL)
    await page.locator("#password").fill(PASSWORD)
    await page.get_by_role("button", name="Anmelden").click()
    await expect(page.locator(".error-summary, .notice-error").first).to_be_visible()
