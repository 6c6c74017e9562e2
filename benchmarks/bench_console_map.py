"""Issue 4's map figure: 10,000+ assets drawn on the operator map in headless Chromium.

Sets up a fresh SQLite installation (``stadtkern migrate``, ``stadtkern twin provision --scale F``: at the
default scale 3.5 about 10,700 assets are shown one by one; household meters are never on the map), an
hour of simulated readings for street lights and hotspots (so the markers carry mixed states), starts
``stadtkern run`` (simulator off), logs an operator in by writing a session into the store (the browser
login with a second factor is covered by the e2e test), and opens ``/leitstelle`` in Debian's Chromium via
Playwright. Measured per run, side by side on the same machine:

- ``fetch_only``: the page's own GeoJSON request alone (fetch + JSON parse in the page), the baseline;
- ``map_drawn``: navigation start to the page's mark ``console-map-drawn`` (all markers and clusters
  added and painted: Leaflet.markercluster's chunked loading finished, next animation frame).

Prints one JSON line per run and a summary line with medians.

Usage (from the checkout): .venv/bin/python -m benchmarks.bench_console_map [--scale 3.5] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
STADTKERN = REPO / ".venv" / "bin" / "stadtkern"
CHROMIUM = os.environ.get("STADTKERN_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]
OPERATOR = "bench-leitstelle@example.org"


def machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 600) -> str:
    result = subprocess.run(
        [str(STADTKERN), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"stadtkern {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


async def operator_session(env: dict[str, str]) -> str:
    """A logged-in session of an operator (no scope: all organisations), as the session middleware stores it."""
    from sqlalchemy import select

    from stadtkern.config import load_settings
    from stadtkern.core.accounts.models import User
    from stadtkern.core.clock import SystemClock
    from stadtkern.db.engine import engine_for, session_factory
    from stadtkern.web.session_store import DatabaseSessionStore

    settings = load_settings(env, env_file=Path("/nonexistent"))
    engine = engine_for(settings)
    try:
        sessions = session_factory(engine)
        async with sessions() as session:
            user = await session.scalar(select(User).where(User.email == OPERATOR))
            assert user is not None
            uid, epoch = user.id, user.session_epoch
        key = secrets.token_hex(16)
        store = DatabaseSessionStore(sessions, SystemClock())
        await store.set(key, json.dumps({"uid": uid, "epoch": epoch}).encode(), expires_in=3600)
        return key
    finally:
        await engine.dispose()


async def measure(base_url: str, cookie: str, runs: int) -> list[dict[str, Any]]:
    from playwright.async_api import async_playwright

    results = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for run in range(runs):
                context = await browser.new_context(
                    base_url=base_url, viewport={"width": 1280, "height": 900}
                )
                await context.add_cookies([{"name": "stadtkern_session", "value": cookie, "url": base_url}])
                page = await context.new_page()
                await page.goto("/leitstelle", wait_until="commit")
                await page.locator("html[data-map-drawn]").wait_for(state="attached", timeout=120_000)
                drawn, data, clustered, scripts = await page.evaluate(
                    """['console-map-drawn', 'console-map-data', 'console-map-clustered'].map(
                        (n) => performance.getEntriesByName(n)[0].startTime).concat(
                        [performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd])"""
                )
                markers = int(await page.locator("html").get_attribute("data-map-drawn") or 0)
                api = json.loads(await page.locator("#karte").get_attribute("data-settings") or "{}")["api"]
                fetch_ms, features = await page.evaluate(
                    """async (url) => { const t = performance.now();
                        const r = await fetch(url, {credentials: 'same-origin'}); const body = await r.json();
                        return [performance.now() - t, body.features.length]; }""",
                    api,
                )
                line = {"bench": "console_map", "run": run + 1, "features": features, "markers": markers,
                        "map_drawn_ms": round(drawn), "fetch_only_ms": round(fetch_ms),
                        "scripts_ready_ms": round(scripts), "data_parsed_ms": round(data),
                        "clustered_ms": round(clustered)}  # fmt: skip
                print(json.dumps(line), flush=True)
                results.append(line)
                await context.close()
        finally:
            await browser.close()
    return results


def setup(scale: float, env: dict[str, str], root: Path) -> None:
    began = time.perf_counter()
    cli(["migrate"], env, root)
    cli(["twin", "provision", "--scale", str(scale)], env, root)
    provisioned = time.perf_counter() - began
    since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cli(["simulate", "--from", since, "--type", "street_light", "--type", "wifi_hotspot"], env, root)
    cli(["user", "create", OPERATOR, "--role", "operator"], env, root)
    print(json.dumps({"bench": "console_map_setup", "scale": scale, "provision_seconds": round(provisioned, 1),
                      "seconds": round(time.perf_counter() - began, 1), **machine()}), flush=True)  # fmt: skip


def serve_and_measure(env: dict[str, str], root: Path, port: int, runs: int) -> list[dict[str, Any]]:
    log = (root / "server.log").open("wb")
    server = subprocess.Popen(
        [str(STADTKERN), "run"],
        env=env,
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit((root / "server.log").read_text())
            time.sleep(0.3)
        cookie = asyncio.run(operator_session(env))
        return asyncio.run(measure(base_url, cookie, runs))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=3.5)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="set up in this folder once and reuse it on later runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("STADTKERN_")}
        env.update(
            STADTKERN_DATA_DIR=str(root / "var"),
            STADTKERN_PORT=str(port),
            STADTKERN_CITIES_DIR=str(REPO / "cities"),
            STADTKERN_SIMULATOR="false",
        )
        if not (root / "ready").exists():
            setup(args.scale, env, root)
            (root / "ready").touch()
        results = serve_and_measure(env, root, port, args.runs)
    summary = {
        "bench": "console_map_summary",
        "features": results[0]["features"],
        "markers": results[0]["markers"],
        "runs": len(results),
        "map_drawn_ms_median": statistics.median(r["map_drawn_ms"] for r in results),
        "map_drawn_ms_min": min(r["map_drawn_ms"] for r in results),
        "fetch_only_ms_median": statistics.median(r["fetch_only_ms"] for r in results),
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
