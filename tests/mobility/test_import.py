"""Loading feeds into the tables on SQLite and PostgreSQL: bulk, atomic replacement, refusal, CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from stadtkern.core.clock import FrozenClock
from stadtkern.db.engine import create_engine, session_factory
from stadtkern.mobility import models as m
from stadtkern.mobility.errors import FeedInvalid
from stadtkern.mobility.gtfs import read_feed
from stadtkern.mobility.importer import import_feed, seed
from tests.mobility.gtfs_support import FEEDS, MINIMAL, REPO, write_feed
from tests.support.processes import run_cli


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


async def count(session: AsyncSession, table: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_good_feed_loads(engine: AsyncEngine, clock: FrozenClock) -> None:
    async with session_factory(engine)() as session, session.begin():
        result = await import_feed(session, FEEDS / "good_feed.zip", clock)
    assert result.counts["stop_times.txt"] == 28
    async with session_factory(engine)() as session:
        feed = (await session.scalars(select(m.Feed))).one()
        assert feed.active
        assert feed.imported_at == clock.now()
        assert feed.valid_from == date(2007, 1, 1)
        assert await count(session, m.Stop) == 10
        assert await count(session, m.Frequency) == 11
        assert await count(session, m.FareRule) == 4
        fare = (await session.scalars(select(m.FareAttribute).where(m.FareAttribute.fare_id == "a"))).one()
        assert str(fare.price.normalize()) == "5.25"
        trip = (await session.scalars(select(m.Trip).where(m.Trip.trip_id == "STBA"))).one()
        times = (
            await session.execute(
                select(m.StopTime.stop_sequence, m.StopTime.arrival, m.Stop.stop_id)
                .join(m.Stop, m.Stop.id == m.StopTime.stop_pk)
                .where(m.StopTime.trip_pk == trip.id)
                .order_by(m.StopTime.stop_sequence)
            )
        ).all()
        assert [tuple(t) for t in times] == [(0, 21600, "STAGECOACH"), (2, 22800, "BEATTY_AIRPORT")]
        platform = (await session.scalars(select(m.Stop).where(m.Stop.stop_id == "BEATTY_AIRPORT"))).one()
        station = await session.get(m.Stop, platform.parent_station_id)
        assert station is not None
        assert station.stop_id == "BEATTY_AIRPORT_STATION"
        calendar = (await session.scalars(select(m.Calendar).where(m.Calendar.service_id == "WE"))).one()
        assert calendar.saturday
        assert not calendar.monday


async def test_new_feed_replaces_the_old_one_atomically(
    engine: AsyncEngine, clock: FrozenClock, tmp_path: Path
) -> None:
    async with session_factory(engine)() as session, session.begin():
        await import_feed(session, FEEDS / "good_feed", clock)
    # A refused feed leaves the old timetable untouched.
    async with session_factory(engine)() as session, session.begin():
        with pytest.raises(FeedInvalid) as refused:
            await import_feed(session, FEEDS / "undefined_stop", clock)
    assert any(p.file == "stop_times.txt" and p.row == 11 for p in refused.value.problems)
    # A failure after writing rolls everything back.
    async with session_factory(engine)() as session, session.begin():
        await import_feed(session, write_feed(tmp_path / "mini", MINIMAL), clock)
        assert await count(session, m.Feed) == 1
        await session.rollback()
    async with session_factory(engine)() as session:
        assert (await session.scalars(select(m.Feed.name))).one() == "good_feed"
        assert await count(session, m.StopTime) == 28
    async with session_factory(engine)() as session, session.begin():
        await import_feed(session, write_feed(tmp_path / "mini", MINIMAL), clock)
    async with session_factory(engine)() as session:
        assert await count(session, m.Feed) == 1
        assert await count(session, m.Stop) == 3
        assert await count(session, m.StopTime) == 3
        assert await count(session, m.Frequency) == 0
        arrivals = list(await session.scalars(select(m.StopTime.arrival).order_by(m.StopTime.stop_sequence)))
        assert arrivals == [89400, 90000, 90600]


async def test_cli_import(engine: AsyncEngine, db_url: str, tmp_path: Path) -> None:
    env = {"STADTKERN_DATABASE_URL": db_url, "STADTKERN_DATA_DIR": str(tmp_path)}
    bad = run_cli(["mobility", "import", str(FEEDS / "negative_stop_sequence")], env, REPO)
    assert bad.returncode == 2, bad.stderr
    assert "stop_times.txt, Zeile 9, Feld stop_sequence" in bad.stderr
    check = run_cli(["mobility", "import", "--check", str(FEEDS / "unused_stop")], env, REPO)
    assert check.returncode == 0, check.stderr
    assert "[unused_stop]" in check.stdout
    good = run_cli(["mobility", "import", str(FEEDS / "good_feed")], env, REPO)
    assert good.returncode == 0, good.stderr
    assert "10 Haltestellen" in good.stdout
    assert "gültig 2007-01-01 bis 2025-12-31" in good.stdout
    async with session_factory(engine)() as session:
        assert await count(session, m.StopTime) == 28


CITY_GTFS = REPO / "cities" / "duisburg" / "gtfs"


def test_duisburg_demo_feed_is_valid_and_connected() -> None:
    feed = read_feed(CITY_GTFS)
    assert [str(p) for p in feed.problems] == []
    assert {r["short_name"] for r in feed.routes} >= {"901", "903", "U79", "921", "923", "924", "934"}
    assert "Demodaten" in feed.feed_info["publisher_name"]
    assert feed.valid_from is not None
    assert feed.valid_from <= date(2026, 11, 17) <= (feed.valid_to or date.min)
    # Every station is reachable from every other by riding and changing at stations.
    station = [s["parent_index"] if s["parent_index"] is not None else i for i, s in enumerate(feed.stops)]
    links: dict[int, set[int]] = {}
    by_trip: dict[int, list[int]] = {}
    for trip, _seq, stop, *_rest in feed.stop_times:
        by_trip.setdefault(trip, []).append(station[stop])
    for stops in by_trip.values():
        for a, b in pairwise(stops):
            links.setdefault(a, set()).add(b)
    stations = {station[i] for i in range(len(feed.stops))}
    names = {feed.stops[i]["name"] for i in stations}
    assert {
        "Hamborn Rathaus",
        "Meiderich Bf",
        "Duisburg Hbf",
        "Hochfeld Süd Bf",
        "Rheinhausen Markt",
    } <= names
    for start in stations:
        seen, todo = {start}, [start]
        while todo:
            for nxt in links.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        assert seen == stations, feed.stops[start]["name"]


async def test_seed_loads_the_city_feed_once(engine: AsyncEngine, clock: FrozenClock) -> None:
    async with session_factory(engine)() as session, session.begin():
        first = await seed(session, CITY_GTFS, clock)
    assert first is not None
    async with session_factory(engine)() as session, session.begin():
        assert await seed(session, CITY_GTFS, clock) is None
    async with session_factory(engine)() as session:
        assert await count(session, m.Feed) == 1
        assert await count(session, m.StopTime) == first.counts["stop_times.txt"]
        hbf = list(
            await session.scalars(
                select(m.Stop.platform_code).where(m.Stop.name == "Duisburg Hbf", m.Stop.location_type == 0)
            )
        )
        assert sorted(hbf) == ["1", "2", "Bus"]
