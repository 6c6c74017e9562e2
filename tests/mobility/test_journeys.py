"""The journey planner as a service and an API: timetable from the database (SQLite and PostgreSQL),
realtime from the table, stop search with umlauts, plan with datetimes, the JSON API and the page."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from stadtkern.core.clock import FrozenClock
from stadtkern.db.engine import create_engine, session_factory
from stadtkern.mobility import journeys, raptor
from stadtkern.mobility import models as m
from stadtkern.mobility.errors import MobilityError, NotFound
from stadtkern.mobility.importer import import_feed
from stadtkern.mobility.timetable import Route, Stop, Trip, build_timetable, load_timetable
from stadtkern.web.runtime import Runtime
from tests.mobility.gtfs_support import FEEDS
from tests.mobility.test_raptor import load_sample_feed

DAY = date(2025, 6, 4)  # the sample feed's calendar ends in 2025: a fixed Wednesday inside it
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def engine(db_url: str, clock: FrozenClock) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    async with session_factory(engine)() as session, session.begin():
        await import_feed(session, FEEDS / "good_feed", clock)
    journeys.clear_cache()
    yield engine
    journeys.clear_cache()
    await engine.dispose()


@pytest.fixture
async def app_rt(runtime: Runtime, clock: FrozenClock) -> AsyncIterator[Runtime]:
    async with runtime.sessions() as session, session.begin():
        await import_feed(session, FEEDS / "good_feed", clock)
    journeys.clear_cache()
    yield runtime
    journeys.clear_cache()
    await runtime.engine.dispose()


async def test_timetable_from_the_database_plans_like_the_feed_files(engine: AsyncEngine) -> None:
    async with session_factory(engine)() as session:
        tt = await load_timetable(session, DAY)
    files, _trips = load_sample_feed(DAY)
    assert tt.n_stop_times >= files.n_stop_times  # plus the trips of the day before / after
    rng = random.Random(6)
    compared = 0
    for _ in range(40):
        a, b = rng.sample([s.stop_id for s in files.stops], 2)
        start = rng.randint(6 * 3600, 20 * 3600)
        got = raptor.depart_at(tt, [tt.stop_index(a)], [tt.stop_index(b)], start)
        want = raptor.depart_at(files, [files.stop_index(a)], [files.stop_index(b)], start)
        assert raptor.summary(got) == raptor.summary(want)
        compared += len(want)
    assert compared > 5


async def test_realtime_rows_delay_and_cancel(engine: AsyncEngine, clock: FrozenClock) -> None:
    async with session_factory(engine)() as session:
        before = await load_timetable(session, DAY)
    a, b = before.stop_index("BEATTY_AIRPORT"), before.stop_index("BULLFROG")
    [plain] = raptor.depart_at(before, [a], [b], 7 * 3600)
    assert (plain.legs[0].trip_id, plain.arrival) == ("AB1", 8 * 3600 + 600)
    async with session_factory(engine)() as session, session.begin():
        session.add(
            m.RealtimeTripUpdate(
                trip_id="AB1",
                start_date=DAY,
                stop_sequence=1,
                departure_delay=240,
                arrival_delay=240,
                received_at=clock.now(),
            )
        )
    async with session_factory(engine)() as session:
        late = await load_timetable(session, DAY)
    [delayed] = raptor.depart_at(late, [a], [b], 7 * 3600)
    leg = delayed.legs[0]
    assert (leg.trip_id, leg.departure, leg.arrival, leg.arrival_delay) == (
        "AB1",
        8 * 3600 + 240,
        8 * 3600 + 840,
        240,
    )
    async with session_factory(engine)() as session, session.begin():
        session.add(
            m.RealtimeTripUpdate(
                trip_id="AB1", start_date=DAY, trip_relationship=m.CANCELED, received_at=clock.now()
            )
        )
    async with session_factory(engine)() as session:
        gone = await load_timetable(session, DAY)
    assert "AB1" not in gone.trip_ids
    assert all(j.legs[0].trip_id != "AB1" for j in raptor.depart_at(gone, [a], [b], 7 * 3600))


def test_stop_search_folds_umlauts_and_ranks_prefixes() -> None:
    names = ["König-Heinrich-Platz", "Duisburg Hbf", "Hauptfriedhof", "Großenbaum", "Am Hbf Süd"]
    stops = [Stop(f"S{i}", n, 51.0 + i, 6.0, platform_code="1") for i, n in enumerate(names)]
    stops.append(Stop("S9", "Duisburg Hbf", 51.0, 6.0, platform_code="2"))
    tt = build_timetable(stops, {"x": Route("x", "x")}, [Trip("t", "x", "", [0, 1], [0, 60], [0, 60])])
    assert [p.name for p in journeys.search_places(tt, "konig")] == ["König-Heinrich-Platz"]
    assert [p.name for p in journeys.search_places(tt, "Koenig")] == ["König-Heinrich-Platz"]
    assert [p.name for p in journeys.search_places(tt, "grossen")] == ["Großenbaum"]
    assert [p.name for p in journeys.search_places(tt, "hbf")] == [
        "Am Hbf Süd",
        "Duisburg Hbf",
    ]  # both: a word starts with it
    assert [p.name for p in journeys.search_places(tt, "h")][:1] == ["Hauptfriedhof"]
    hbf = journeys.find_place(tt, "duisburg HBF", "von")
    assert hbf.platforms == ("1", "2")
    assert len(hbf.stops) == 2
    with pytest.raises(NotFound) as missing:
        journeys.find_place(tt, "Xanten", "nach")
    assert missing.value.field == "nach"


async def test_plan_with_datetimes_depart_and_arrive(engine: AsyncEngine) -> None:
    at = datetime(2025, 6, 4, 8, 3, tzinfo=BERLIN)
    async with session_factory(engine)() as session:
        result = await journeys.plan(session, "stagecoach", "Doing Ave / D Ave N (Demo)", at, zone=BERLIN)
        assert result.origin.name == "Stagecoach Hotel & Casino (Demo)"
        [journey] = result.journeys
        assert journey.departure == datetime(2025, 6, 4, 8, 10, tzinfo=BERLIN)
        assert journey.arrival == datetime(2025, 6, 4, 8, 29, tzinfo=BERLIN)
        assert journey.legs[0].route_id == "CITY"
        back = await journeys.plan(
            session,
            "Stagecoach Hotel & Casino (Demo)",
            "DADAN",
            datetime(2025, 6, 4, 8, 30, tzinfo=BERLIN),
            arrive_by=True,
            zone=BERLIN,
        )
        assert [j.arrival for j in back.journeys] == [datetime(2025, 6, 4, 8, 29, tzinfo=BERLIN)]
        with pytest.raises(MobilityError) as same:
            await journeys.plan(session, "DADAN", "DADAN", at, zone=BERLIN)
        assert same.value.field == "nach"


def test_parse_when() -> None:
    now = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
    assert journeys.parse_when("", now, BERLIN) == now.astimezone(BERLIN)
    assert journeys.parse_when("08:30", now, BERLIN) == datetime(2026, 11, 17, 8, 30, tzinfo=BERLIN)
    assert journeys.parse_when("2026-11-18T07:05", now, BERLIN) == datetime(2026, 11, 18, 7, 5, tzinfo=BERLIN)
    with pytest.raises(MobilityError) as bad:
        journeys.parse_when("morgen", now, BERLIN)
    assert bad.value.field == "zeit"


def test_service_day_is_noon_minus_twelve_hours() -> None:
    # 2026-03-29: clocks go forward at 02:00; the service day starts at 23:00 the evening before
    start = journeys.day_start(date(2026, 3, 29), BERLIN)
    assert start == datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # 23:00 CET: noon CEST minus 12 hours
    noon = journeys.to_datetime(12 * 3600, date(2026, 3, 29), BERLIN)
    assert noon == datetime(2026, 3, 29, 12, tzinfo=BERLIN)
    assert (
        journeys.to_seconds(
            journeys.to_datetime(90_600, date(2026, 11, 17), BERLIN), date(2026, 11, 17), BERLIN
        )
        == 90_600
    )


async def test_api_stops_and_journeys(app_rt: Runtime, client: AsyncTestClient[Any]) -> None:
    stops = await client.get("/api/mobilitaet/haltestellen", params={"q": "north"})
    assert stops.status_code == 200
    assert [s["name"] for s in stops.json()] == ["North Ave / D Ave N (Demo)", "North Ave / N A Ave (Demo)"]
    found = await client.get(
        "/api/mobilitaet/verbindungen",
        params={"von": "Stagecoach", "nach": "Doing Ave", "zeit": "2025-06-04T08:03"},
    )
    assert found.status_code == 200, found.text
    body = found.json()
    [journey] = body["journeys"]
    assert journey["departure"] == "2025-06-04T08:10:00+02:00"
    assert journey["rides"] == 1
    assert journey["legs"][0]["kind"] == "ride"
    assert journey["legs"][0]["origin"]["stop_id"] == "STAGECOACH"
    arrive = await client.get(
        "/api/mobilitaet/verbindungen",
        params={"von": "STAGECOACH", "nach": "DADAN", "zeit": "2025-06-04T08:30", "ankunft": "true"},
    )
    assert arrive.json()["arrive_by"] is True
    unknown = await client.get("/api/mobilitaet/verbindungen", params={"von": "Xanten", "nach": "DADAN"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["details"] == {"field": "von"}
    missing = await client.get("/api/mobilitaet/verbindungen", params={"von": "DADAN"})
    assert missing.status_code == 400
    assert missing.json()["error"]["details"] == {"field": "nach"}
    bad_time = await client.get(
        "/api/mobilitaet/verbindungen", params={"von": "DADAN", "nach": "EMSI", "zeit": "bald"}
    )
    assert bad_time.status_code == 400
    assert bad_time.json()["error"]["details"] == {"field": "zeit"}
    schema = (await client.get("/api/openapi.json")).json()
    assert "/api/mobilitaet/verbindungen" in schema["paths"]
    assert "/api/mobilitaet/haltestellen" in schema["paths"]


async def test_page_without_javascript(app_rt: Runtime, client: AsyncTestClient[Any]) -> None:
    empty = await client.get("/fahrplan")
    assert empty.status_code == 200
    assert 'name="von"' in empty.text
    # not exact: the server offers suggestions to choose from
    vague = await client.get(
        "/fahrplan", params={"von": "north", "nach": "DADAN", "zeit": "2025-06-04T08:00"}
    )
    assert vague.status_code == 400
    assert "Meinten Sie" in vague.text
    assert 'name="von_wahl" value="North Ave / D Ave N (Demo)"' in vague.text
    page = await client.get(
        "/fahrplan",
        params={
            "von": "Stagecoach Hotel & Casino (Demo)",
            "nach": "Doing Ave / D Ave N (Demo)",
            "zeit": "2025-06-04T08:03",
        },
    )
    assert page.status_code == 200
    assert "08:10" in page.text
    assert "08:29" in page.text
    assert "Spätere Verbindungen" in page.text
    assert (await client.get("/static/fahrplan/fahrplan.js")).status_code == 200
