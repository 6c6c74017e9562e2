"""`make run` brings the Duisburg demo city up alive: the twin's assets provisioned, readings arriving.

The live server is `stadtkern run` with the defaults of `make run` (SQLite, in-process broker, the
simulator on in development mode), so this is the README's promise, checked from outside over HTTP.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e

# The first tick writes the current quarter hour of every asset (about 400,000 readings with the year of
# the demo households); on a busy machine that takes a while.
ALIVE_WITHIN_S = 120


def test_the_demo_city_is_provisioned_and_sends_readings(live_server: LiveServer) -> None:
    sta = f"{live_server.base_url}/sta/v1.1"
    things = httpx.get(f"{sta}/Things", params={"$top": "1", "$count": "true"}, timeout=30).json()
    assert (
        things["@iot.count"] >= 3000
    )  # the default demo has 3,955 assets; meters are hidden from the public
    deadline = time.monotonic() + ALIVE_WITHIN_S
    readings: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        body = httpx.get(f"{sta}/Observations", params={"$top": "5"}, timeout=30).json()
        readings = body["value"]
        if readings:
            break
        time.sleep(2)
    assert readings, f"no reading from the simulator within {ALIVE_WITHIN_S} s"
    assert all("result" in reading and "phenomenonTime" in reading for reading in readings)
