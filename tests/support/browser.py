"""Checks every page a person uses: axe-core, reflow at 320 CSS px, and a screenshot to look at."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pyotp
from playwright.async_api import Page, expect

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO / "test-results" / "screenshots"
# WCAG 2.1 A and AA rules (axe tags), plus axe's best practices for landmarks and headings.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}
}


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(f"axe.run(document, {json.dumps(AXE_OPTIONS)})")
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


async def horizontal_overflow_at(page: Page, width: int = 320) -> int:
    """How many CSS px the page is wider than a 320 px viewport (0 = reflows, WCAG 1.4.10)."""
    original = page.viewport_size
    await page.set_viewport_size({"width": width, "height": 800})
    overflow = int(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
    if original:
        await page.set_viewport_size(original)
    return overflow


async def check_page(page: Page, name: str) -> None:
    """Assert zero axe violations and no horizontal scrolling at 320 px; save screenshots."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    violations = await axe_violations(page)
    assert violations == [], f"axe found violations on {name}: {json.dumps(violations, indent=1)}"
    await page.screenshot(path=str(SCREENSHOTS / f"{slug}.png"), full_page=True)
    overflow = await horizontal_overflow_at(page)
    await page.set_viewport_size({"width": 320, "height": 800})
    await page.screenshot(path=str(SCREENSHOTS / f"{slug}-320.png"), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 900})
    assert overflow <= 0, f"{name} scrolls horizontally at 320 CSS px by {overflow} px"


async def open_mail(page: Page, subject: str, timeout_s: float = 20.0) -> None:
    """Open the newest mail with ``subject`` in the development mailbox, reloading until it arrived."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        await page.goto("/dev/mail")
        link = page.get_by_role("link", name=subject).first
        if await link.count():
            await link.click()
            return
        if loop.time() > deadline:
            raise AssertionError(f"no mail {subject!r} arrived within {timeout_s} s")
        await asyncio.sleep(0.5)


async def set_up_second_factor(page: Page) -> None:
    """On the two-factor enrolment page: read the key shown for manual entry and confirm a current code."""
    secret = (await page.locator("#totp-secret").inner_text()).replace(" ", "")
    await page.get_by_label("Code aus der App").fill(pyotp.TOTP(secret).at(time.time()))
    await page.get_by_role("button", name="Bestätigen").click()


async def first_staff_login(
    page: Page, base_url: str, email: str, one_time_password: str, new_password: str
) -> None:
    """A staff account's first login: one-time password, a new password, then the second factor."""
    await page.goto(f"{base_url}/konto/anmelden")
    await page.get_by_label("E-Mail-Adresse").fill(email)
    await page.locator("#password").fill(one_time_password)
    await page.get_by_role("button", name="Anmelden").click()
    await expect(page).to_have_url(f"{base_url}/konto/passwort")
    await page.locator("#password").fill(new_password)
    await page.locator("#password_repeat").fill(new_password)
    await page.get_by_role("button", name="Passwort speichern").click()
    # After the new password, the app either asks to log in again or goes straight to the second factor.
    await page.get_by_label("E-Mail-Adresse").or_(page.locator("#totp-secret")).first.wait_for()
    if await page.get_by_label("E-Mail-Adresse").count():
        await page.get_by_label("E-Mail-Adresse").fill(email)
        await page.locator("#password").fill(new_password)
        await page.get_by_role("button", name="Anmelden").click()
    await set_up_second_factor(page)
    await expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
