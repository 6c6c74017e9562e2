"""Realtime in the planner: predicted absolute times (StopTimeEvent.time) and updates of one run of a
frequency-based trip, from a FeedMessage through the table to the journeys found (both databases)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from google.transit import gtfs_realtime_pb2
from sqlalchemy.ext.asyncio import AsyncEngine

from stadtkern.core.clock import FrozenClock
from stadtkern.db.engine import create_engine, session_factory
from stadtkern.mobility import raptor, realtime
from stadtkern.mobility.importer import import_feed
from stadtkern.mobility.timetable import (
    FrequencyRow,
    StopUpdate,
    Trip,
    TripUpdate,
    apply_realtime,
    expand_frequencies,
    load_timetable,
)
from tests.mobility.gtfs_support import FEEDS

DAY = date(2025, 6, 4)  # inside the sample feed's calendar
BERLIN = ZoneInfo("Europe/Berlin")
H = 3600


def hm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * H + int(minutes) * 60


def epoch(text: str) -> int:
    """POSIX seconds of a local time on DAY (what a producer sends as StopTimeEvent.time)."""
    hours, minutes = text.split(":")
    return int(datetime(DAY.year, DAY.month, DAY.day, int(hours), int(minutes), tzinfo=BERLIN).timestamp())


@pytest.fixture
async def engine(db_url: str, clock: FrozenClock) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    async with session_factory(engine)() as session, session.begin():
        await import_feed(session, FEEDS / "good_feed", clock)
    yield engine
    await engine.dispose()


async def apply(engine: AsyncEngine, feed: gtfs_realtime_pb2.FeedMessage, clock: FrozenClock) -> None:
    feed.header.gtfs_realtime_version = "2.0"
    async with session_factory(engine)() as session, session.begin():
        await realtime.apply(session, feed.SerializeToString(), clock)


def arrival(tt: object, origin: str, destination: str, at: str) -> tuple[str, str, str]:
    """(trip, departure, arrival) of the fastest journey with one ride."""
    from stadtkern.mobility.timetable import Timetable

    assert isinstance(tt, Timetable)
    found = raptor.depart_at(tt, [tt.stop_index(origin)], [tt.stop_index(destination)], hm(at))
    [journey] = [j for j in found if j.rides == 1]
    leg = journey.legs[0]

    def clock(seconds: int) -> str:
        return f"{seconds // H:02d}:{seconds % H // 60:02d}"

    return leg.trip_id, clock(leg.departure), clock(journey.arrival)


async def test_absolute_times_win_over_delays(engine: AsyncEngine, clock: FrozenClock) -> None:
    async with session_factory(engine)() as session:
        before = await load_timetable(session, DAY, timezone="Europe/Berlin")
    assert arrival(before, "BEATTY_AIRPORT", "BULLFROG", "07:00") == ("AB1", "08:00", "08:10")

    feed = gtfs_realtime_pb2.FeedMessage()
    update = feed.entity.add(id="ab1").trip_update
    update.trip.trip_id = "AB1"
    update.trip.start_date = DAY.strftime("%Y%m%d")
    first = update.stop_time_update.add(stop_sequence=1)
    first.departure.time = epoch("08:02")
    second = update.stop_time_update.add(stop_sequence=2)
    second.arrival.time = epoch("08:13")
    second.arrival.delay = 600  # a time given wins over a delay (GTFS-Realtime reference)
    await apply(engine, feed, clock)

    async with session_factory(engine)() as session:
        late = await load_timetable(session, DAY, timezone="Europe/Berlin")
    assert arrival(late, "BEATTY_AIRPORT", "BULLFROG", "07:00") == ("AB1", "08:02", "08:13")
    [journey] = raptor.depart_at(
        late, [late.stop_index("BEATTY_AIRPORT")], [late.stop_index("BULLFROG")], hm("07:00")
    )
    assert (journey.legs[0].departure_delay, journey.legs[0].arrival_delay) == (120, 180)


async def test_an_update_of_one_run_of_a_frequency_trip(engine: AsyncEngine, clock: FrozenClock) -> None:
    # CITY1 runs every 30 minutes from 06:00 (every 10 from 08:00), 19 minutes from STAGECOACH to DADAN
    async with session_factory(engine)() as session:
        before = await load_timetable(session, DAY, timezone="Europe/Berlin")
    assert arrival(before, "STAGECOACH", "DADAN", "06:25") == ("CITY1@06:30:00", "06:30", "06:49")

    feed = gtfs_realtime_pb2.FeedMessage()
    late = feed.entity.add(id="late").trip_update
    late.trip.trip_id = "CITY1"
    late.trip.start_date = DAY.strftime("%Y%m%d")
    late.trip.start_time = "06:30:00"
    late.stop_time_update.add(stop_sequence=15).arrival.delay = 300
    gone = feed.entity.add(id="gone").trip_update
    gone.trip.trip_id = "CITY1"
    gone.trip.start_date = DAY.strftime("%Y%m%d")
    gone.trip.start_time = "07:00:00"
    gone.trip.schedule_relationship = gtfs_realtime_pb2.TripDescriptor.CANCELED
    await apply(engine, feed, clock)

    async with session_factory(engine)() as session:
        tt = await load_timetable(session, DAY, timezone="Europe/Berlin")
    assert arrival(tt, "STAGECOACH", "DADAN", "05:55") == ("CITY1@06:00:00", "06:00", "06:19")
    assert arrival(tt, "STAGECOACH", "DADAN", "06:25") == ("CITY1@06:30:00", "06:30", "06:54")
    assert arrival(tt, "STAGECOACH", "DADAN", "06:55") == ("CITY1@07:30:00", "07:30", "07:49")
    assert arrival(tt, "STAGECOACH", "DADAN", "07:55") == ("CITY1@08:00:00", "08:00", "08:19")


def test_runs_of_yesterday_keep_their_own_start_time() -> None:
    """A run of the day before is named by its start on that day (the start_time of its TripUpdates)."""
    template = Trip("F", "R", "", [0, 1], [0, 600], [0, 600], service_date=date(2025, 6, 3))
    runs = expand_frequencies([template], [FrequencyRow("F", hm("23:30"), hm("24:30"), 1800)], offset=-86_400)
    assert [(r.trip_id, r.dep[0]) for r in runs] == [
        ("F@23:30:00", hm("23:30") - 86_400),
        ("F@24:00:00", 0),
    ]
    updated = apply_realtime(
        runs,
        [
            TripUpdate(
                "F", date(2025, 6, 3), stop_updates=(StopUpdate(1, None, 60),), start_time=hm("24:00")
            ),
            TripUpdate("F", date(2025, 6, 3), stop_updates=(StopUpdate(1, None, 120),)),
        ],
        ["A", "B"],
    )
    # the run named gets its own update, the other the update of all runs
    assert [(r.trip_id, r.arr[1] - r.dep[0]) for r in updated] == [("F@23:30:00", 720), ("F@24:00:00", 660)]
