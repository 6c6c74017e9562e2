"""GTFS-Realtime polling: a local HTTP server serves FeedMessages built with the official bindings, the
clock is frozen; failures keep the last good data; the periodic job polls at the configured interval."""

from __future__ import annotations

import http.server
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.transit import gtfs_realtime_pb2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from stadtkern.core.clock import FrozenClock
from stadtkern.core.jobs.runner import JobRunner
from stadtkern.db.engine import create_engine, session_factory
from stadtkern.mobility import jobs, realtime
from stadtkern.mobility import models as m
from tests.conftest import make_settings
from tests.support.database import loop_safe_app


@dataclass
class Served:
    """What the local server answers: a status and a body, changed by the test between polls."""

    status: int = 200
    body: bytes = b""
    pause: float = 0.0  # seconds before answering (a server that hangs)
    hits: list[str] = field(default_factory=list)


@pytest.fixture
def feed_server() -> Iterator[tuple[str, Served]]:
    served = Served()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.hits.append(self.path)
            time.sleep(served.pause)
            self.send_response(served.status)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(served.body)))
            self.end_headers()
            self.wfile.write(served.body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tripupdates.pb", served
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


def message(stamp: datetime, delay: int = 120) -> bytes:
    feed = gtfs_realtime_pb2.FeedMessage()
    feed.header.gtfs_realtime_version = "2.0"
    feed.header.timestamp = int(stamp.timestamp())
    update = feed.entity.add(id="1").trip_update
    update.trip.trip_id = "T901-1"
    update.trip.start_date = "20261117"
    stu = update.stop_time_update.add(stop_sequence=3)
    stu.arrival.delay = delay
    return bytes(feed.SerializeToString())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def stored(engine: AsyncEngine) -> list[tuple[int, int | None]]:
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(m.RealtimeTripUpdate.id, m.RealtimeTripUpdate.arrival_delay)
            .where(m.RealtimeTripUpdate.trip_id != realtime.FEED_ROW)
            .order_by(m.RealtimeTripUpdate.id)
        )
        return [(r.id, r.arrival_delay) for r in rows]


async def test_poll_keeps_the_last_good_data_on_every_failure(
    engine: AsyncEngine,
    clock: FrozenClock,
    feed_server: tuple[str, Served],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, served = feed_server
    sessions = session_factory(engine)
    age = timedelta(minutes=5)
    served.body = message(clock.now() - timedelta(seconds=10))
    first = await realtime.poll(sessions, url, clock, max_age=age)
    assert first is not None
    assert (first.trips, first.stop_updates, first.changed) == (1, 1, True)
    good = await stored(engine)
    assert [delay for _id, delay in good if delay is not None] == [120]
    async with sessions() as session:
        assert (await realtime.status(session)) == realtime.RealtimeStatus(
            clock.now(), clock.now() - timedelta(seconds=10)
        )

    # the same data again: only the time of receipt moves on, the rows (and the planner's stamp) stay
    clock.advance(timedelta(seconds=30))
    served.body = message(clock.now() - timedelta(seconds=5))
    again = await realtime.poll(sessions, url, clock, max_age=age)
    assert again is not None
    assert again.changed is False
    assert await stored(engine) == good
    async with sessions() as session:
        status = await realtime.status(session)
    assert status is not None
    assert status.received_at == clock.now()
    assert status.feed_timestamp is not None
    last_good, last_stamp = clock.now(), status.feed_timestamp

    failures: list[tuple[str, Any, str]] = [
        ("HTTP error", lambda: setattr(served, "status", 500), "HTTP 500"),
        ("not protobuf", lambda: setattr(served, "body", b"<html>Wartung</html>"), "Protocol Buffers"),
        (
            "stale",
            lambda: setattr(served, "body", message(clock.now() - timedelta(hours=1), delay=999)),
            "veraltet",
        ),
        (
            "older than stored",
            lambda: setattr(served, "body", message(last_stamp - timedelta(seconds=1), delay=999)),
            "älter als die vorhandenen",
        ),
    ]
    for name, arrange, said in failures:
        served.status = 200
        arrange()
        clock.advance(timedelta(seconds=30))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="stadtkern.mobility.realtime"):
            assert await realtime.poll(sessions, url, clock, max_age=age) is None, name
        assert said in caplog.text, (name, caplog.text)
        assert "last good data stays" in caplog.text
        assert await stored(engine) == good, name
        async with sessions() as session:
            status = await realtime.status(session)
        assert status is not None, name
        assert status.received_at == last_good, name

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="stadtkern.mobility.realtime"):
        unreachable = f"http://127.0.0.1:{free_port()}/tripupdates.pb"
        assert await realtime.poll(sessions, unreachable, clock, max_age=age) is None
        served.status, served.body = 200, message(clock.now()) + b"\x00" * 2000
        assert await realtime.poll(sessions, url, clock, max_age=age, max_bytes=1000) is None
        served.pause = 1.0
        assert await realtime.poll(sessions, url, clock, max_age=age, http_timeout=0.2) is None
        served.pause = 0.0
    assert "nicht abrufbar" in caplog.text
    assert "zu groß" in caplog.text
    assert caplog.text.count("not applied") == 3
    assert await stored(engine) == good

    # and a new message is taken again
    served.body = message(clock.now(), delay=300)
    assert await realtime.poll(sessions, url, clock, max_age=age) is not None
    assert [delay for _id, delay in await stored(engine) if delay is not None] == [300]


async def test_periodic_job_polls_at_the_configured_interval(
    db_url: str, data_dir: Path, clock: FrozenClock, feed_server: tuple[str, Served]
) -> None:
    url, served = feed_server
    served.body = message(clock.now())
    settings = make_settings(db_url, data_dir, mobility_realtime_url=url, mobility_realtime_interval="60")
    app = loop_safe_app(settings, clock)
    runtime = app.state.runtime
    runner = JobRunner(runtime)
    try:
        assert [p.every for p in runner.periodic if p.kind == jobs.POLL] == [timedelta(seconds=60)]
        await runner.run_until_idle()
        assert len(served.hits) == 1
        async with runtime.sessions() as session:
            status = await realtime.status(session)
        assert status is not None
        assert status.received_at == clock.now()
        clock.advance(timedelta(seconds=30))  # not yet due
        await runner.run_until_idle()
        assert len(served.hits) == 1
        clock.advance(timedelta(seconds=31))
        served.status = 503  # a failure does not fail the job: it is logged, the data stays
        await runner.run_until_idle()
        assert len(served.hits) == 2
        clock.advance(timedelta(seconds=61))
        served.status, served.body = 200, message(clock.now())
        await runner.run_until_idle()
        assert len(served.hits) == 3
        async with runtime.sessions() as session:
            status = await realtime.status(session)
        assert status is not None
        assert status.received_at == clock.now()
    finally:
        await runtime.engine.dispose()


def test_no_polling_without_a_url(db_url: str, data_dir: Path) -> None:
    assert jobs.periodic_jobs(make_settings(db_url, data_dir)) == []
    odd = jobs.config(make_settings(db_url, data_dir, mobility_realtime_interval="bald"))
    assert odd.interval == timedelta(seconds=jobs.DEFAULT_INTERVAL)
