"""The timetable is built in the background of the running app: at start-up (a request finds it ready or
waits for that one build), for the next day before midnight, and again after a realtime update."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from google.transit import gtfs_realtime_pb2
from litestar import Litestar
from litestar.testing import AsyncTestClient

from stadtkern.core.clock import FrozenClock
from stadtkern.mobility import journeys, prebuild, realtime
from stadtkern.mobility.importer import import_feed
from stadtkern.mobility.timetable import Timetable, load_timetable
from stadtkern.web.runtime import Runtime
from tests.mobility.gtfs_support import FEEDS

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2025, 6, 4)  # inside the sample feed's calendar
QUERY = {"von": "Stagecoach", "nach": "Doing Ave", "zeit": "2025-06-04T08:03"}


class Builds:
    """Counts the timetable builds (any loop, any thread); ``gate`` holds them until it is set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self.started = threading.Event()
        self.gate = threading.Event()
        self.gate.set()
        real: Callable[..., Any] = load_timetable

        async def counting(*args: Any, **kwargs: Any) -> Timetable:
            self.count += 1
            self.started.set()
            assert await asyncio.to_thread(self.gate.wait, 30)
            tt: Timetable = await real(*args, **kwargs)
            return tt

        monkeypatch.setattr(journeys, "load_timetable", counting)


@pytest.fixture
async def with_feed(runtime: Runtime, clock: FrozenClock) -> AsyncIterator[Runtime]:
    clock.set(datetime(2025, 6, 4, 7, 30, tzinfo=BERLIN))
    async with runtime.sessions() as session, session.begin():
        await import_feed(session, FEEDS / "good_feed", clock)
    journeys.clear_cache()
    yield runtime
    journeys.clear_cache()


async def wait_until(check: Callable[[], bool], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def builder_of(runtime: Runtime) -> journeys.Builder:
    return journeys._builders[id(runtime.engine)]


async def test_after_start_up_the_first_request_finds_the_timetable_ready(
    app: Litestar, with_feed: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = Builds(monkeypatch)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        await wait_until(lambda: id(with_feed.engine) in journeys._builders)
        builder = builder_of(with_feed)
        await wait_until(lambda: builder.builds == 1)
        found = await client.get("/api/mobilitaet/verbindungen", params=QUERY)
        assert found.status_code == 200, found.text
        assert found.json()["journeys"][0]["departure"] == "2025-06-04T08:10:00+02:00"
        assert found.json()["realtime"] == {"received_at": None, "feed_timestamp": None}
        page = await client.get("/fahrplan")
        assert "Keine Echtzeitdaten" in page.text
        assert builds.count == 1  # built at start-up, not by the requests
    assert id(with_feed.engine) not in journeys._builders  # stopped with the app


async def test_a_request_during_the_start_up_build_waits_for_it(
    app: Litestar, with_feed: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = Builds(monkeypatch)
    builds.gate.clear()
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        await asyncio.to_thread(builds.started.wait, 30)  # the start-up build is under way, held
        # released from a thread: the test client may hold this loop while the request runs
        released: list[float] = []

        def release() -> None:
            released.append(time.monotonic())
            builds.gate.set()

        timer = threading.Timer(0.5, release)
        timer.start()
        found = await client.get("/api/mobilitaet/verbindungen", params=QUERY)
        answered = time.monotonic()
        timer.join()
        assert released
        assert answered > released[0]
        assert found.status_code == 200, found.text
        assert builds.count == 1  # the request waited for the start-up build: no second build
        assert builder_of(with_feed).builds == 1


async def test_a_realtime_update_is_built_in_the_background(
    app: Litestar, with_feed: Runtime, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prebuild, "CHECK_SECONDS", 0.1)
    builds = Builds(monkeypatch)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        await wait_until(lambda: id(with_feed.engine) in journeys._builders)
        builder = builder_of(with_feed)
        await wait_until(lambda: builder.builds == 1)
        feed = gtfs_realtime_pb2.FeedMessage()
        feed.header.gtfs_realtime_version = "2.0"
        feed.header.timestamp = int(clock.now().timestamp())
        update = feed.entity.add(id="1").trip_update
        update.trip.trip_id = "CITY1"
        update.trip.start_date = "20250604"
        update.trip.start_time = "08:10:00"
        update.stop_time_update.add(stop_sequence=0).departure.delay = 120
        async with with_feed.sessions() as session, session.begin():
            await realtime.apply(session, feed.SerializeToString(), clock)
        await wait_until(lambda: builder.builds == 2)
        found = await client.get("/api/mobilitaet/verbindungen", params=QUERY)
        assert found.status_code == 200, found.text
        body = found.json()
        leg = body["journeys"][0]["legs"][0]
        assert (leg["departure"], leg["departure_delay_minutes"]) == ("2025-06-04T08:12:00+02:00", 2)
        assert body["realtime"]["received_at"] == "2025-06-04T07:30:00+02:00"
        page = await client.get("/fahrplan")
        assert "Echtzeitdaten: Stand 07:30" in page.text
        assert builds.count == 2


def test_the_next_day_is_built_before_midnight() -> None:
    evening = datetime(2026, 11, 17, 22, 59, tzinfo=BERLIN)
    assert prebuild.warm_days(evening, BERLIN) == [date(2026, 11, 17)]
    late = datetime(2026, 11, 17, 23, 0, tzinfo=BERLIN)
    assert prebuild.warm_days(late, BERLIN) == [date(2026, 11, 17), date(2026, 11, 18)]
    after = datetime(2026, 11, 18, 0, 5, tzinfo=BERLIN)
    assert prebuild.warm_days(after, BERLIN) == [date(2026, 11, 18)]
