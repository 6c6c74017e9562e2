"""End-to-end fixtures: a real `stadtkern run` server (SQLite, one process) and Debian's Chromium.

The server runs with the defaults of `make run`, the simulator included, so the pages are tested while
the demo city writes its readings (tests/support/processes.py switches it off for the other servers).

Browser tests run on SQLite only (the issue allows it to keep the suite fast); every page they open is
checked with axe-core and for reflow at 320 CSS px.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from stadtkern.core.accounts.services import create_user
from stadtkern.core.clock import SystemClock
from stadtkern.db.engine import create_engine, session_factory
from tests.support.browser import set_up_second_factor
from tests.support.postgres import free_port

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("STADTKERN_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
SCREENSHOTS = REPO / "test-results" / "screenshots"


@dataclass
class LiveServer:
    base_url: str
    data_dir: Path
    admin_email: str
    admin_password: str


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("e2e") / "var"
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("STADTKERN_")},
        "STADTKERN_DATA_DIR": str(data_dir),
        "STADTKERN_PORT": str(port),
    }
    log_path = data_dir.parent / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(REPO / ".venv/bin/stadtkern"), "run"],
            cwd=str(data_dir.parent),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"stadtkern run did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        output = log_path.read_text()
        email = re.search(r"E-Mail:\s+(\S+)", output)
        password = re.search(r"Password:\s+(\S+)", output)
        assert email, output
        assert password, output
        yield LiveServer(base_url, data_dir, email.group(1), password.group(1))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def context(browser: Browser, live_server: LiveServer) -> AsyncIterator[BrowserContext]:
    # bypass_csp only lets the test inject axe-core; the app's own pages never need it.
    ctx = await browser.new_context(base_url=live_server.base_url, bypass_csp=True, locale="de-DE")
    external: list[str] = []
    ctx.on(
        "request",
        lambda request: (
            external.append(request.url)
            if not request.url.startswith((live_server.base_url, "data:", "about:"))
            else None
        ),
    )
    try:
        yield ctx
    finally:
        await ctx.close()
    assert external == [], f"pages made requests to third parties: {external}"


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    new_page = await context.new_page()
    yield new_page
    await new_page.close()


async def log_in_new_admin(page: Page, live_server: LiveServer, email: str, password: str, name: str) -> None:
    """Create a verified admin in the live server's database, log in and set up the second factor."""
    engine = create_engine(f"sqlite+aiosqlite:///{live_server.data_dir / 'stadtkern.sqlite3'}")
    try:
        async with session_factory(engine)() as session:
            await create_user(
                session,
                email=email,
                password=password,
                now=SystemClock().now(),
                display_name=name,
                roles=(("admin", None),),
                verified=True,
            )
            await session.commit()
    finally:
        await engine.dispose()
    await page.goto("/konto/anmelden")
    await page.get_by_label("E-Mail-Adresse").fill(email)
    await page.locator("#password").fill(password)
    await page.get_by_role("button", name="Anmelden").click()
    await set_up_second_factor(page)
