"""transfers.txt in the planner: minimum change times at a stop, timed and impossible changes between
stops, routes and trips with the GTFS precedence, stations standing for their platforms; pickup and
drop-off types 2 and 3 as notes on the leg; stops grouped by their station. RAPTOR and the reference
on random networks with random rules: tests/mobility/test_raptor.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from stadtkern.core.clock import FrozenClock
from stadtkern.db.engine import create_engine, session_factory
from stadtkern.mobility import journeys, raptor
from stadtkern.mobility import models as m
from stadtkern.mobility.gtfs import read_feed
from stadtkern.mobility.importer import import_feed
from stadtkern.mobility.reference import Reference
from stadtkern.mobility.timetable import (
    Route,
    Stop,
    Transfer,
    TransferRules,
    Trip,
    build_timetable,
    load_timetable,
)
from stadtkern.web.runtime import Runtime
from tests.mobility.gtfs_support import MINIMAL, write_feed

BERLIN = ZoneInfo("Europe/Berlin")

# --- precedence -----------------------------------------------------------------------------------


def test_the_most_specific_rule_applies() -> None:
    rules = TransferRules(
        [
            Transfer(0, 0, 2, 300),  # stops only
            Transfer(0, 0, 3, from_route="R1"),  # one route
            Transfer(0, 0, 2, 120, from_route="R1", to_route="R2"),  # both routes
            Transfer(0, 0, 2, 60, to_trip="B"),  # one trip
            Transfer(0, 0, 2, 30, from_route="R1", to_trip="B"),  # a route and a trip
            Transfer(0, 0, 1, from_trip="A", to_trip="B"),  # both trips
            Transfer(0, 1, 2, 200, station=True),  # from a station's platform …
            Transfer(0, 1, 2, 100),  # … the platform itself wins
        ]
    )
    assert rules.time(0, 0, None) == 300
    assert rules.time(0, 0, None, "X", "R9", "Y", "R9") == 300
    assert rules.time(0, 0, None, "X", "R1", "Y", "R9") is None  # type 3 from route R1
    assert rules.time(0, 0, None, "X", "R1", "Y", "R2") == 120
    assert rules.time(0, 0, None, "X", "R9", "B", "R2") == 60
    assert rules.time(0, 0, None, "X", "R1", "B", "R2") == 30
    assert rules.time(0, 0, None, "A@08:10:00", "R1", "B", "R2") == 0  # a run of frequency trip A
    assert rules.time(0, 1, 500) == 100
    assert rules.time(1, 0, 500) == 500  # no rule that way: the walk
    assert rules.time(1, 2, None) is None  # no rule and no walk
    assert rules.time(3, 3, None) == 0  # no rule at the stop: the default change time
    assert rules.from_special(0, "A@x", "R7")
    assert rules.from_special(0, "Q", "R1")
    assert not rules.from_special(0, "Q", "R2")
    assert rules.to_special(0, "B", "R9")
    assert rules.named_trips == {"A", "B"}


# --- a small network, RAPTOR and the reference ----------------------------------------------------


def _network(transfers: list[Transfer]) -> tuple[Any, Reference]:
    # 0 Mitte -> 1 Hbf Steig 1 (T1, route R1, arrives 08:10); 2 Hbf Steig 2 -> 3 Nord: T2 (R2) 08:12,
    # T3 (R3) 08:20, T4 (R2) 08:30; the platforms are 33 m apart (a minute's walk)
    stops = [
        Stop("M", "Mitte", 51.40, 6.70),
        Stop("H1", "Hbf Steig 1", 51.43, 6.77, "1", "H"),
        Stop("H2", "Hbf Steig 2", 51.4303, 6.77, "2", "H"),
        Stop("N", "Nord", 51.50, 6.80),
    ]
    routes = {r: Route(r, r) for r in ("R1", "R2", "R3")}
    h = 3600
    trips = [
        Trip("T1", "R1", "Hbf", [0, 1], [8 * h, 8 * h + 600], [8 * h, 8 * h + 600]),
        Trip("T2", "R2", "Nord", [2, 3], [8 * h + 720, 8 * h + 1800], [8 * h + 720, 8 * h + 1800]),
        Trip("T3", "R3", "Nord", [2, 3], [8 * h + 1200, 8 * h + 2400], [8 * h + 1200, 8 * h + 2400]),
        Trip("T4", "R2", "Nord", [2, 3], [8 * h + 1800, 8 * h + 3000], [8 * h + 1800, 8 * h + 3000]),
    ]
    tt = build_timetable(stops, routes, trips, transfers)
    return tt, Reference(tt)


@pytest.mark.parametrize(
    ("transfers", "second"),
    [
        ([], "T2"),  # a minute's walk: 08:12 is reached
        ([Transfer(1, 2, 2, 300)], "T3"),  # five minutes between the platforms
        ([Transfer(1, 2, 2, 300), Transfer(1, 2, 1, from_trip="T1", to_trip="T2")], "T2"),  # timed
        ([Transfer(1, 2, 3, from_route="R1", to_route="R3")], "T2"),
        ([Transfer(1, 2, 2, 300), Transfer(1, 2, 3, from_route="R1", to_route="R3")], "T4"),
        ([Transfer(1, 2, 3, to_trip="T2"), Transfer(1, 2, 3, from_trip="T1", to_route="R3")], "T4"),
        ([Transfer(1, 2, 2, 1100, from_route="R1")], "T4"),  # longer than the walk
        ([Transfer(1, 2, 3)], None),  # no change between the platforms at all
    ],
)
def test_rules_decide_the_connection(transfers: list[Transfer], second: str | None) -> None:
    tt, ref = _network(transfers)
    got = raptor.depart_at(tt, [0], [3], 7 * 3600 + 3000)
    want = ref.pareto_depart([0], [3], 7 * 3600 + 3000, 4)
    assert [(j.rides, j.arrival) for j in got] == want
    if second is None:
        assert got == []
        return
    [journey] = got
    assert [leg.trip_id for leg in journey.legs if leg.kind == "ride"] == ["T1", second]
    back = raptor.arrive_by(tt, [0], [3], 9 * 3600)
    assert [(j.rides, j.departure) for j in back] == ref.pareto_arrive([0], [3], 9 * 3600, 4, 6 * 3600)


def test_minimum_change_time_at_one_stop_and_timed_trips() -> None:
    # one platform: T1 arrives 08:10 at stop 1, T2 leaves there 08:12, T3 08:20
    stops = [Stop("A", "A", 51.0, 6.0), Stop("B", "B", 51.2, 6.0), Stop("C", "C", 51.4, 6.0)]
    routes = {"1": Route("1", "1"), "2": Route("2", "2")}
    trips = [
        Trip("T1", "1", "B", [0, 1], [29_400, 30_000], [29_400, 30_000]),
        Trip("T2", "2", "C", [1, 2], [30_120, 31_000], [30_120, 31_000]),
        Trip("T3", "2", "C", [1, 2], [30_600, 31_500], [30_600, 31_500]),
    ]
    for transfers, arrival in [
        ([], 31_000),
        ([Transfer(1, 1, 2, 180)], 31_500),
        ([Transfer(1, 1, 2, 180), Transfer(1, 1, 1, from_trip="T1", to_trip="T2")], 31_000),
        ([Transfer(1, 1, 3)], None),
        ([Transfer(1, 1, 3), Transfer(1, 1, 0, from_route="1", to_route="2")], 31_000),
    ]:
        tt = build_timetable(stops, routes, trips, transfers)
        got = raptor.summary(raptor.depart_at(tt, [0], [2], 29_000))
        assert got == ([] if arrival is None else [(2, 29_400, arrival)]), transfers
        assert [(r, a) for r, _d, a in got] == Reference(tt).pareto_depart([0], [2], 29_000, 3)
    # the change time is for changing only: arriving at B needs none
    tt = build_timetable(stops, routes, trips, [Transfer(1, 1, 3)])
    assert raptor.summary(raptor.depart_at(tt, [0], [1], 29_000)) == [(1, 29_400, 30_000)]


# --- reading, importing, loading ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("A,B,1,,,X,,,", ("undefined_reference", "transfers.txt", 2, "from_trip_id")),
        ("A,B,1,,,,NOPE,,", ("undefined_reference", "transfers.txt", 2, "to_trip_id")),
        ("A,B,1,,902,,,,", ("undefined_reference", "transfers.txt", 2, "from_route_id")),
        ("A,B,1,,,,,902,", ("undefined_reference", "transfers.txt", 2, "to_route_id")),
        ("A,B,1,,,,,,", None),
        ("A,B,1,,901,T1,,,", None),
    ],
)
def test_transfer_scopes_are_checked(tmp_path: Path, row: str, expected: tuple[Any, ...] | None) -> None:
    header = "from_stop_id,to_stop_id,transfer_type,min_transfer_time,from_route_id,from_trip_id,to_trip_id,to_route_id,x\n"
    feed = read_feed(write_feed(tmp_path / "f", {**MINIMAL, "transfers.txt": header + row + "\n"}))
    found = {(p.code, p.file, p.row, p.field) for p in feed.errors}
    if expected is None:
        assert not feed.errors, found
        assert len(feed.transfers) == 1
    else:
        assert expected in found, found
        assert not feed.transfers


def test_a_trip_outside_the_named_route_is_an_error(tmp_path: Path) -> None:
    files = {
        **MINIMAL,
        "routes.txt": "route_id,agency_id,route_short_name,route_type\n901,DVG,901,0\n902,DVG,902,0\n",
        "transfers.txt": "from_stop_id,to_stop_id,transfer_type,from_route_id,from_trip_id\nA,B,1,902,T1\n",
    }
    feed = read_feed(write_feed(tmp_path / "f", files))
    assert ("trip_not_in_route", "transfers.txt", 2, "from_trip_id") in {
        (p.code, p.file, p.row, p.field) for p in feed.errors
    }


STATION_FEED: dict[str, str | bytes] = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone,agency_phone\nDVG,DVG,https://www.dvg-duisburg.de,Europe/Berlin,0203 604 0\n",
    "stops.txt": (
        "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station,platform_code\n"
        "HBF,Duisburg Hbf,51.4300,6.7700,1,,\n"
        "HBF1,Hbf Steig 1,51.4300,6.7700,0,HBF,1\n"
        "HBF2,Hbf Steig 2,51.4303,6.7700,0,HBF,2\n"
        "M,Mitte,51.4000,6.7000,0,,\n"
        "N,Nord,51.5000,6.8000,0,,\n"
        "W,West,51.4200,6.6000,0,,\n"
        "W2,West,51.4201,6.6000,0,,\n"
    ),
    "routes.txt": (
        "route_id,agency_id,route_short_name,route_type\n901,DVG,901,0\n902,DVG,902,3\n903,DVG,903,3\n"
    ),
    "trips.txt": "route_id,service_id,trip_id\n901,WK,T1\n902,WK,T2\n903,WK,T3\n903,WK,T5\n",
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence,pickup_type,drop_off_type\n"
        "T1,08:00:00,08:00:00,M,1,,\n"
        "T1,08:10:00,08:10:00,HBF1,2,,\n"
        "T2,08:12:00,08:12:00,HBF2,1,,\n"
        "T2,08:30:00,08:30:00,N,2,,\n"
        "T3,08:20:00,08:20:00,HBF2,1,,\n"
        "T3,08:40:00,08:40:00,N,2,,\n"
        "T5,09:00:00,09:00:00,W,1,3,\n"
        "T5,09:20:00,09:20:00,M,2,,2\n"
    ),
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,0,0,20260101,20261231\n"
    ),
    # ten minutes to change anywhere in the station, but T1 waits for T2 … unless T2's route says no
    "transfers.txt": (
        "from_stop_id,to_stop_id,transfer_type,min_transfer_time,from_trip_id,to_trip_id,from_route_id,to_route_id\n"
        "HBF,HBF,2,600,,,,\n"
        "HBF1,HBF2,1,,T1,T2,,\n"
        "HBF1,HBF2,3,,,,901,903\n"
    ),
}


@pytest.fixture
async def engine(db_url: str, clock: FrozenClock, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    async with session_factory(engine)() as session, session.begin():
        await import_feed(session, write_feed(tmp_path / "feed", STATION_FEED), clock)
    journeys.clear_cache()
    yield engine
    journeys.clear_cache()
    await engine.dispose()


async def test_import_and_load_keep_scopes_and_stations(engine: AsyncEngine) -> None:
    async with session_factory(engine)() as session:
        rows = (await session.scalars(select(m.Transfer).order_by(m.Transfer.id))).all()
        trips: dict[int | None, str] = {
            t.id: t.trip_id for t in (await session.scalars(select(m.Trip))).all()
        }
        routes: dict[int | None, str] = {
            r.id: r.route_id for r in (await session.scalars(select(m.Route))).all()
        }
        assert [(trips.get(r.from_trip_pk), trips.get(r.to_trip_pk)) for r in rows] == [
            (None, None),
            ("T1", "T2"),
            (None, None),
        ]
        assert [(routes.get(r.from_route_pk), routes.get(r.to_route_pk)) for r in rows][2] == ("901", "903")
        tt = await load_timetable(session, datetime(2026, 11, 17).date())
    h1, h2 = tt.stop_index("HBF1"), tt.stop_index("HBF2")
    by_pair = {(t.from_stop, t.to_stop, t.from_trip, t.to_route): t for t in tt.transfers}
    # the station's rule stands for every pair of its platforms
    assert {(a, b) for a, b, _t, _r in by_pair if _t is None and _r is None} == {
        (h1, h1),
        (h1, h2),
        (h2, h1),
        (h2, h2),
    }
    assert by_pair[(h1, h2, None, None)].station
    assert by_pair[(h1, h2, "T1", None)].transfer_type == 1
    assert by_pair[(h1, h2, None, "903")].transfer_type == 3
    assert tt.station_names == {"HBF": "Duisburg Hbf"}


async def test_plan_follows_the_rules_and_notes_pickup_types(engine: AsyncEngine) -> None:
    when = datetime(2026, 11, 17, 7, 55, tzinfo=BERLIN)
    async with session_factory(engine)() as session:
        found = await journeys.plan(session, "Mitte", "Nord", when, zone=BERLIN)
        # T1 waits for T2 (timed), though ten minutes are needed in the station otherwise
        assert [leg.trip_id for leg in found.journeys[0].legs if leg.kind == "ride"] == ["T1", "T2"]
        later = await journeys.plan(session, "Mitte", "Nord", when.replace(hour=9), zone=BERLIN)
        assert later.journeys == ()
        west = await journeys.plan(session, "West", "Mitte", when.replace(hour=8, minute=50), zone=BERLIN)
    [journey] = west.journeys
    [leg] = journey.legs
    assert (leg.pickup_type, leg.drop_off_type) == (3, 2)
    assert leg.notes == (
        "Einstieg nur nach Absprache mit dem Fahrpersonal.",
        "Ausstieg nur nach telefonischer Anmeldung beim Verkehrsunternehmen.",
    )


async def test_stations_group_their_platforms(engine: AsyncEngine) -> None:
    async with session_factory(engine)() as session:
        tt = await journeys.timetable_for(session, datetime(2026, 11, 17).date(), BERLIN)
    [hbf] = journeys.search_places(tt, "duisburg")
    assert hbf.name == "Duisburg Hbf"
    assert hbf.station_id == "HBF"
    assert sorted(tt.stops[i].stop_id for i in hbf.stops) == ["HBF1", "HBF2"]
    assert hbf.platforms == ("1", "2")
    # by the station's id, a platform's id or a platform's name: the station
    assert journeys.exact_place(tt, "HBF") == hbf
    assert journeys.exact_place(tt, "HBF2") == hbf
    assert journeys.exact_place(tt, "Hbf Steig 1") == hbf
    # stops without a station: grouped by name as before
    west = journeys.exact_place(tt, "West")
    assert west is not None
    assert sorted(tt.stops[i].stop_id for i in west.stops) == ["W", "W2"]
    assert not west.station_id
    async with session_factory(engine)() as session:
        found = await journeys.plan(
            session, "Duisburg Hbf", "Nord", datetime(2026, 11, 17, 8, 11, tzinfo=BERLIN), zone=BERLIN
        )
    assert found.journeys[0].legs[0].origin.stop_id == "HBF2"


@pytest.fixture
async def app_rt(runtime: Runtime, clock: FrozenClock, tmp_path: Path) -> AsyncIterator[Runtime]:
    async with runtime.sessions() as session, session.begin():
        await import_feed(session, write_feed(tmp_path / "feed", STATION_FEED), clock)
    journeys.clear_cache()
    yield runtime
    journeys.clear_cache()
    await runtime.engine.dispose()


async def test_notes_in_the_json_and_on_the_page(app_rt: Runtime, client: AsyncTestClient[Any]) -> None:
    params = {"von": "West", "nach": "Mitte", "zeit": "2026-11-17T08:50"}
    found = await client.get("/api/mobilitaet/verbindungen", params=params)
    assert found.status_code == 200, found.text
    [leg] = found.json()["journeys"][0]["legs"]
    assert (leg["pickup_type"], leg["drop_off_type"]) == (3, 2)
    assert leg["notes"][0] == "Einstieg nur nach Absprache mit dem Fahrpersonal."
    page = await client.get("/fahrplan", params=params)
    assert page.status_code == 200
    assert "Einstieg nur nach Absprache mit dem Fahrpersonal." in page.text
    assert "Ausstieg nur nach telefonischer Anmeldung beim Verkehrsunternehmen." in page.text
    stops = await client.get("/api/mobilitaet/haltestellen", params={"q": "duisb"})
    assert [s["name"] for s in stops.json()] == ["Duisburg Hbf"]
