"""Offline ticket verifications per second (issue 6): in Python (cryptography) and in Chromium (the inspector
page's own ``kontrolle.js`` with WebCrypto Ed25519), side by side on the same signed codes.

- python_sign: signing ticket codes (``TicketSigner.sign``), one core.
- python_verify: ``tickets.verify_code`` (decode, Ed25519, validity, zone, replay set), one core.
- browser_verify_sequential: ``stadtkernKontrolle.verify`` one after the other (await each), as an inspector
  checks one ticket after another; without recording seen tickets (``remember=false``).
- browser_verify_parallel: the same codes all at once (``Promise.all``).
- browser_verify_remembering: sequential, recording each in localStorage (the real page; the list grows).

The browser runs a copy of the inspector page served from 127.0.0.1 by a throw-away HTTP server (a secure
context, as WebCrypto needs), with the network not used during the measurement.

Prints one JSON line per measurement. Usage:
  .venv/bin/python -m benchmarks.bench_ticket_verify [--codes 20000] [--browser-codes 5000] [--no-browser]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import platform
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stadtkern.mobility import tickets
from stadtkern.mobility.fares import load_fares

REPO = Path(__file__).resolve().parents[1]
CITY = REPO / "cities" / "duisburg"
JS = REPO / "src" / "stadtkern" / "mobility" / "static" / "tickets" / "kontrolle.js"
CHROMIUM = os.environ.get("STADTKERN_TEST_CHROMIUM", "/usr/bin/chromium")


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}


def emit(name: str, **values: Any) -> None:
    print(json.dumps({"benchmark": "ticket_verify", "measure": name, **values, **machine()}), flush=True)


def make_codes(signer: tickets.TicketSigner, n: int) -> tuple[list[str], float]:
    now = int(time.time())
    started = time.perf_counter()
    codes = [
        signer.sign(
            {
                "t": f"B{i:08d}",
                "p": "einzel",
                "pn": "EinzelTicket Erwachsene",
                "l": "B",
                "c": "Duisburg",
                "f": now - 60,
                "u": now + 5400,
                "s": 1,
            }
        )
        for i in range(n)
    ]
    return codes, time.perf_counter() - started


def python_verify(signer: tickets.TicketSigner, codes: list[str]) -> float:
    fares = load_fares(CITY)
    seen: set[str] = set()
    at = datetime.now(UTC)  # a benchmark, not app code: the wall clock is what is measured against
    started = time.perf_counter()
    for code in codes:
        verdict = tickets.verify_code(
            code, signer.public_keys, at=at, here="Mülheim an der Ruhr", fares=fares, seen=seen
        )
        if not verdict.ok:
            raise SystemExit(f"benchmark code refused: {verdict.reason}")
    return time.perf_counter() - started


PAGE = """<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>bench</title>
<script src="kontrolle.js" defer></script></head><body>
<script type="application/json" id="kontrolle-daten">{data}</script>
<form id="kontrolle"><select id="ort"><option>Duisburg</option></select><textarea id="code"></textarea></form>
<div id="ergebnis"></div><span id="gesehen-anzahl"></span><button type="button" id="gesehen-leeren"></button>
</body></html>"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def browser_verify(signer: tickets.TicketSigner, codes: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    fares = load_fares(CITY)
    data = {
        "keys": {signer.key_id: signer.public_key_b64},
        "cities": {name: sorted(info.neighbours) for name, info in fares.cities.items()},
        "home": fares.home_city,
        "levels": {key: level.name for key, level in fares.levels.items()},
        "timezone": "Europe/Berlin",
        "messages": {},
    }
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "index.html").write_text(PAGE.format(data=json.dumps(data)), encoding="utf-8")
        Path(folder, "kontrolle.js").write_bytes(JS.read_bytes())
        handler = functools.partial(_Quiet, directory=folder)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--headless", "--no-sandbox"]
                )
                context = browser.new_context()
                page = context.new_page()
                page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
                page.evaluate("window.stadtkernKontrolle.ready")
                context.set_offline(True)
                for name, script in (
                    ("browser_verify_sequential", _SEQUENTIAL % "false"),
                    ("browser_verify_parallel", _PARALLEL),
                    ("browser_verify_remembering", _SEQUENTIAL % "true"),
                ):
                    subset = codes if name != "browser_verify_remembering" else codes[:2000]
                    result = page.evaluate(script, subset)
                    if result["refused"]:
                        raise SystemExit(f"{name}: {result['refused']} codes refused ({result['first']})")
                    emit(
                        name,
                        codes=len(subset),
                        seconds=round(result["ms"] / 1000, 3),
                        per_second=round(len(subset) / (result["ms"] / 1000)),
                        chromium=browser.version,
                    )
                browser.close()
        finally:
            server.shutdown()


_SEQUENTIAL = """async (codes) => {
  localStorage.clear();
  const start = performance.now(); let refused = 0; let first = null;
  for (const code of codes) {
    const r = await window.stadtkernKontrolle.verify(code, "Mülheim an der Ruhr", Date.now(), %s);
    if (!r.ok) { refused++; first = first || r.reason; }
  }
  return {ms: performance.now() - start, refused, first};
}"""

_PARALLEL = """async (codes) => {
  const start = performance.now();
  const results = await Promise.all(codes.map(c => window.stadtkernKontrolle.verify(c, "Mülheim an der Ruhr", Date.now(), false)));
  const bad = results.filter(r => !r.ok);
  return {ms: performance.now() - start, refused: bad.length, first: bad.length ? bad[0].reason : null};
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--codes", type=int, default=20000)
    parser.add_argument("--browser-codes", type=int, default=5000)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    signer = tickets.TicketSigner(Ed25519PrivateKey.generate())
    codes, sign_seconds = make_codes(signer, args.codes)
    emit(
        "python_sign",
        codes=len(codes),
        seconds=round(sign_seconds, 3),
        per_second=round(len(codes) / sign_seconds),
    )
    seconds = python_verify(signer, codes)
    emit("python_verify", codes=len(codes), seconds=round(seconds, 3), per_second=round(len(codes) / seconds))
    emit("code_size", characters=len(codes[0]))
    if not args.no_browser:
        browser_verify(signer, codes[: args.browser_codes])


if __name__ == "__main__":
    main()
