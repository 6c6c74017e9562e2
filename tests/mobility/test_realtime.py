"""GTFS-Realtime TripUpdates: a FeedMessage built with the official bindings, stored on both databases."""

from __future__ import annotations

import http.server
import threading
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from google.transit import gtfs_realtime_pb2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from stadtkern.core.clock import FrozenClock
from stadtkern.db.engine import create_engine, session_factory
from stadtkern.mobility import models as m
from stadtkern.mobility import realtime
from stadtkern.mobility.errors import MobilityError
from tests.mobility.gtfs_support import REPO
from tests.support.processes import run_cli


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


def message(incrementality: Any = gtfs_realtime_pb2.FeedHeader.FULL_DATASET) -> bytes:
    feed = gtfs_realtime_pb2.FeedMessage()
    feed.header.gtfs_realtime_version = "2.0"
    feed.header.incrementality = incrementality
    feed.header.timestamp = 1_763_370_000
    late = feed.entity.add(id="1").trip_update
    late.trip.trip_id = "T901-1"
    late.trip.start_date = "20261117"
    stu = late.stop_time_update.add(stop_sequence=3)
    stu.arrival.delay = 120
    stu.departure.delay = 180
    skipped = late.stop_time_update.add(stop_id="DU-HBF")
    skipped.schedule_relationship = gtfs_realtime_pb2.TripUpdate.StopTimeUpdate.SKIPPED
    canceled = feed.entity.add(id="2").trip_update
    canceled.trip.trip_id = "T903-7"
    canceled.trip.schedule_relationship = gtfs_realtime_pb2.TripDescriptor.CANCELED
    return bytes(feed.SerializeToString())


async def test_trip_updates_are_stored(engine: AsyncEngine, clock: FrozenClock) -> None:
    async with session_factory(engine)() as session, session.begin():
        result = await realtime.apply(session, message(), clock)
    assert (result.trips, result.stop_updates, result.canceled) == (2, 2, 1)
    async with session_factory(engine)() as session:
        rows = list(await session.scalars(select(m.RealtimeTripUpdate).order_by(m.RealtimeTripUpdate.id)))
    by_stop = {(r.trip_id, r.stop_sequence, r.stop_id): r for r in rows}
    delayed = by_stop[("T901-1", 3, None)]
    assert (delayed.arrival_delay, delayed.departure_delay) == (120, 180)
    assert delayed.start_date == date(2026, 11, 17)
    assert delayed.received_at == clock.now()
    assert by_stop[("T901-1", None, "DU-HBF")].relationship == m.SKIPPED
    assert by_stop[("T903-7", None, None)].trip_relationship == m.CANCELED
    # A differential message replaces only the trips it names; a full one replaces everything.
    diff = gtfs_realtime_pb2.FeedMessage()
    diff.ParseFromString(message(gtfs_realtime_pb2.FeedHeader.DIFFERENTIAL))
    del diff.entity[1]
    diff.entity[0].trip_update.stop_time_update[0].arrival.delay = 300
    async with session_factory(engine)() as session, session.begin():
        await realtime.apply(session, diff.SerializeToString(), clock)
    async with session_factory(engine)() as session:
        rows = list(await session.scalars(select(m.RealtimeTripUpdate)))
    # the feed row (trip_id empty) records when the last message came
    assert sorted({r.trip_id for r in rows}) == [realtime.FEED_ROW, "T901-1", "T903-7"]
    assert {r.arrival_delay for r in rows if r.stop_sequence == 3} == {300}
    empty = gtfs_realtime_pb2.FeedMessage()
    empty.header.gtfs_realtime_version = "2.0"
    async with session_factory(engine)() as session, session.begin():
        await realtime.apply(session, empty.SerializeToString(), clock)
    async with session_factory(engine)() as session:
        left = list(await session.scalars(select(m.RealtimeTripUpdate)))
        assert [r.trip_id for r in left] == [realtime.FEED_ROW]
        assert await realtime.status(session) == realtime.RealtimeStatus(clock.now(), None)


def test_garbage_is_refused(clock: FrozenClock) -> None:
    with pytest.raises(MobilityError):
        realtime.parse(b"\xff\xff not a protobuf", clock.now())


async def test_cli_realtime_from_file(engine: AsyncEngine, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "updates.pb"
    path.write_bytes(message())
    env = {"STADTKERN_DATABASE_URL": db_url, "STADTKERN_DATA_DIR": str(tmp_path)}
    done = run_cli(["mobility", "realtime", str(path)], env, REPO)
    assert done.returncode == 0, done.stderr
    assert "2 Fahrten (1 ausgefallen)" in done.stdout
    missing = run_cli(["mobility", "realtime", str(tmp_path / "nope.pb")], env, REPO)
    assert missing.returncode == 2
    assert "nicht gefunden" in missing.stderr


async def test_read_source_from_url() -> None:
    """A local HTTP server stands in for the operator's realtime endpoint (no request leaves the machine)."""
    body = message()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/tripupdates.pb":
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert await realtime.read_source(f"{base}/tripupdates.pb") == body
        with pytest.raises(MobilityError, match="HTTP 404"):
            await realtime.read_source(f"{base}/missing.pb")
    finally:
        server.shutdown()
        server.server_close()


async def test_a_differential_update_of_one_run_keeps_the_other_runs(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    def runs(incrementality: Any, delays: dict[str, int]) -> bytes:
        feed = gtfs_realtime_pb2.FeedMessage()
        feed.header.gtfs_realtime_version = "2.0"
        feed.header.incrementality = incrementality
        for start, delay in delays.items():
            update = feed.entity.add(id=start).trip_update
            update.trip.trip_id = "CITY1"
            update.trip.start_date = "20261117"
            update.trip.start_time = start
            update.stop_time_update.add(stop_sequence=15).arrival.delay = delay
        return bytes(feed.SerializeToString())

    async with session_factory(engine)() as session, session.begin():
        await realtime.apply(
            session, runs(gtfs_realtime_pb2.FeedHeader.FULL_DATASET, {"06:30:00": 60, "07:00:00": 120}), clock
        )
    async with session_factory(engine)() as session, session.begin():
        await realtime.apply(
            session, runs(gtfs_realtime_pb2.FeedHeader.DIFFERENTIAL, {"06:30:00": 300}), clock
        )
    async with session_factory(engine)() as session:
        rows = list(
            await session.scalars(
                select(m.RealtimeTripUpdate).where(m.RealtimeTripUpdate.stop_sequence == 15)
            )
        )
    assert sorted((r.start_time, r.arrival_delay) for r in rows) == [("06:30:00", 300), ("07:00:00", 120)]
