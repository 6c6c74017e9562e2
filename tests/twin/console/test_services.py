"""Console rules on both databases: state, filters, organisation scope, meters only in aggregate, audit."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from stadtkern.core.audit.models import AuditEntry
from stadtkern.core.audit.services import PERSONAL_DATA_READ
from stadtkern.sensorthings.access import Viewer
from stadtkern.sensorthings.service import SensorThingsService
from stadtkern.twin.console import services
from stadtkern.twin.console.services import ConsoleViewer, MapFilter
from tests.twin.console.conftest import City, codes_of, write

DUISBURG = ZoneInfo("Europe/Berlin")


async def visible(city: City, user: object, filters: MapFilter = MapFilter()) -> list[services.MapAsset]:
    async with city.rt.sessions() as session:
        return await services.map_assets(
            session, city.types, ConsoleViewer.of(user), filters, now=city.rt.clock.now()
        )


async def test_operators_see_their_organisation_and_admins_everything(city: City) -> None:
    everything = await visible(city, city.admin)
    stadtwerke = await visible(city, city.stadtwerke)
    stadt = await visible(city, city.stadt)
    assert {a.organisation for a in stadtwerke} == {"stadtwerke"}
    assert {a.organisation for a in stadt} == {"stadt"}
    assert {a.type_key for a in stadt} == {"waste_container", "traffic_counter"}
    assert len(everything) == len(stadtwerke) + len(stadt)
    hotspots = await visible(city, city.stadtwerke, MapFilter(frozenset({"wifi_hotspot"})))
    assert len(hotspots) == 12
    assert await visible(city, city.stadt, MapFilter(frozenset({"wifi_hotspot"}))) == []
    # A citizen is no staff: nothing, even when asking.
    assert await visible(city, city.citizen) == []


async def test_household_meters_never_appear_individually(city: City) -> None:
    meters = await codes_of(city.rt, "household_meter")
    assert len(meters) >= 3
    shown = {a.code for a in await visible(city, city.admin)}
    assert shown
    assert not shown & set(meters)
    with pytest.raises(services.ConsoleError, match="household_meter"):
        services.parse_filter(city.types, ["500"], ["household_meter"], None)
    collection = services.feature_collection(await visible(city, city.admin), [])
    assert all(f["properties"]["type"] != "household_meter" for f in collection["features"])


async def test_filters_by_type_and_district_and_refuse_unknown_values(city: City) -> None:
    filters = services.parse_filter(city.types, ["200", "500"], ["street_light", " "], "500")
    assert filters == MapFilter(frozenset({"street_light"}), "500")
    lights = await visible(city, city.admin, filters)
    assert lights
    assert {(a.type_key, a.district_code) for a in lights} == {("street_light", "500")}
    with pytest.raises(services.ConsoleError, match="Laterne") as bad_type:
        services.parse_filter(city.types, ["500"], ["Laterne"], None)
    assert bad_type.value.field == "typ"
    with pytest.raises(services.ConsoleError, match="999") as bad_district:
        services.parse_filter(city.types, ["500"], [], "999")
    assert bad_district.value.field == "bezirk"


async def test_state_follows_the_latest_values(city: City) -> None:
    rt = city.rt
    now = rt.clock.now()
    lamps = await codes_of(rt, "street_light")
    faulty, dark, silent, lit = lamps[:4]
    recent = now - timedelta(minutes=10)
    await write(rt, faulty, "fault", [(recent, 1)])
    await write(rt, faulty, "dim_level", [(recent, 0)])
    await write(rt, dark, "fault", [(recent, 0)])
    await write(rt, dark, "dim_level", [(recent, 0)])
    # Two hours and a bit ago: more than twice the hourly period of an instantaneous value.
    await write(rt, silent, "fault", [(now - timedelta(hours=2, minutes=5), 0)])
    await write(rt, silent, "dim_level", [(now - timedelta(hours=2, minutes=5), 100)])
    await write(rt, lit, "fault", [(recent, 0)])
    await write(rt, lit, "dim_level", [(now - timedelta(hours=3), 0), (recent, 50)])
    states = {
        a.code: a.state for a in await visible(city, city.stadtwerke, MapFilter(frozenset({"street_light"})))
    }
    assert states[faulty] == "fault"
    assert states[dark] == "off"
    assert states[silent] == "no_data"
    assert states[lit] == "ok"
    assert states[lamps[4]] == "no_data"  # never reported

    # A 15-minute count stream is stale after 30 minutes; a daily one only after two days.
    hotspot = (await codes_of(rt, "wifi_hotspot"))[0]
    await write(rt, hotspot, "logins", [(now - timedelta(minutes=25), 4)])
    await write(rt, hotspot, "data_volume", [(now - timedelta(minutes=25), 0.4)])
    await write(rt, hotspot, "unique_visitors", [(now - timedelta(hours=40), 300)])
    hotspots = {
        a.code: a.state for a in await visible(city, city.stadtwerke, MapFilter(frozenset({"wifi_hotspot"})))
    }
    assert hotspots[hotspot] == "ok"
    await write(rt, hotspot, "logins", [(now - timedelta(minutes=40), 4)])  # older: latest stays
    rt.clock.advance(timedelta(minutes=10))
    hotspots = {
        a.code: a.state for a in await visible(city, city.stadtwerke, MapFilter(frozenset({"wifi_hotspot"})))
    }
    assert hotspots[hotspot] == "no_data"


async def test_meters_are_counted_and_summed_per_district_only(city: City) -> None:
    rt = city.rt
    now = rt.clock.now()
    meters = await codes_of(rt, "household_meter", district_code="500")
    assert len(meters) >= services.MIN_GROUP
    for index, code in enumerate(meters):
        # 1 kWh a quarter hour in the last day; one reading older than a day is not counted.
        await write(rt, code, "energy", [(now - timedelta(hours=h), 1000.0) for h in range(1, 5)])
        await write(rt, code, "energy", [(now - timedelta(days=2), 99_000.0 + index)])
    async with rt.sessions() as session:
        by_district = {
            m.district_code: m
            for m in await services.meter_districts(
                session, city.types, ConsoleViewer.of(city.admin), now=now
            )
        }
        # Operators of the city (not the utility) see no meters at all.
        assert (
            await services.meter_districts(session, city.types, ConsoleViewer.of(city.stadt), now=now) == []
        )
    assert by_district["500"].count == len(meters)
    assert by_district["500"].energy_kwh == pytest.approx(4.0 * len(meters))
    small = [m for m in by_district.values() if m.count < services.MIN_GROUP]
    assert all(m.energy_kwh is None for m in small)


async def test_a_meter_page_is_for_its_owner_and_audited_staff(city: City) -> None:
    rt = city.rt
    code = "household-meter-demo-1"
    now = rt.clock.now()

    async def read(user: object) -> services.AssetDetail:
        async with rt.sessions() as session:
            detail = await services.asset_detail(
                session,
                city.types,
                ConsoleViewer.of(user),
                code,
                now=now,
                reader=user,
            )
            await session.commit()
            return detail

    async def audit() -> list[AuditEntry]:
        async with rt.sessions() as session:
            return list(
                (
                    await session.scalars(select(AuditEntry).where(AuditEntry.action == PERSONAL_DATA_READ))
                ).all()
            )

    mine = await read(city.owner)
    assert mine.personal
    assert mine.owner_user_id == city.owner.id
    assert [s.key for s in mine.streams] == ["energy", "feed_in"]  # demo-1 has a PV system
    assert await audit() == []  # the owner reading their own data is no staff read

    await read(city.stadtwerke)
    entries = await audit()
    assert [(e.actor_id, e.subject_id, e.target) for e in entries] == [
        (city.stadtwerke.id, city.owner.id, f"twin_asset:{code}")
    ]
    for outsider in (city.citizen, city.stadt, city.admin):
        with pytest.raises(services.AccessDenied):
            await read(outsider)
    assert len(await audit()) == 1
    with pytest.raises(services.AssetNotFound):
        async with rt.sessions() as session:
            await services.asset_detail(
                session, city.types, ConsoleViewer.of(city.admin), "gibt-es-nicht", now=now, reader=city.admin
            )


async def test_asset_series_come_from_the_aggregation(city: City) -> None:
    rt = city.rt
    now = rt.clock.now()
    hotspot = (await codes_of(rt, "wifi_hotspot"))[0]
    await write(rt, hotspot, "logins", [(now - timedelta(minutes=15 * i), 10) for i in range(8)])
    async with rt.sessions() as session:
        detail = await services.asset_detail(
            session, city.types, ConsoleViewer.of(city.stadtwerke), hotspot, now=now, reader=city.stadtwerke
        )
    service = SensorThingsService(rt.sessions, rt.clock, rt.engine.dialect.name)
    series = await services.asset_series(
        service, Viewer.of(city.stadtwerke), detail, services.RANGES["24h"], now=now
    )
    logins = next(s for s in series if s.info.key == "logins")
    assert logins.function == "sum"
    assert len(logins.points) == 24
    assert sum(p.value or 0 for p in logins.points) == 80
    assert logins.points[-1].start <= now < logins.points[-1].start + timedelta(hours=1)
    with pytest.raises(services.ConsoleError, match="3 Wochen"):
        services.parse_range("3 Wochen")


async def test_dashboard_figures(city: City) -> None:
    rt = city.rt
    now = rt.clock.now()
    hotspots = await codes_of(rt, "wifi_hotspot")
    await write(rt, hotspots[0], "logins", [(now - timedelta(days=d), 1000) for d in range(3)])
    await write(rt, hotspots[0], "data_volume", [(now - timedelta(days=d), 250.0) for d in range(3)])
    # Last month's readings do not count for this month.
    await write(rt, hotspots[1], "logins", [(now - timedelta(days=20), 5000)])
    containers = await codes_of(rt, "waste_container")
    await write(rt, containers[0], "fill_level", [(now - timedelta(minutes=30), 85)])
    await write(rt, containers[1], "fill_level", [(now - timedelta(minutes=30), 40)])
    await write(rt, containers[2], "fill_level", [(now - timedelta(days=1), 95)])  # stale: not due
    sensors = await codes_of(rt, "water_pressure_sensor")
    await write(rt, sensors[0], "pressure", [(now - timedelta(minutes=10), 1.5)])
    await write(rt, sensors[1], "pressure", [(now - timedelta(minutes=10), 4.2)])
    async with rt.sessions() as session:
        board = await services.dashboard(
            session, city.types, ConsoleViewer.of(city.admin), now=now, timezone=DUISBURG
        )
        city_only = await services.dashboard(
            session, city.types, ConsoleViewer.of(city.stadt), now=now, timezone=DUISBURG
        )
    assert board.wifi is not None
    assert board.wifi.logins == 3000
    assert board.wifi.terabytes == pytest.approx(0.75)
    assert len(board.wifi.hotspots) == 12
    assert 0 < board.wifi.month_share < 1
    assert board.lights is not None
    assert sum(board.lights.values()) == len(await codes_of(rt, "street_light"))
    assert [c.code for c in board.waste_due] == [containers[0]]
    assert board.pressure is not None
    assert [b.count for b in board.pressure] == [1, 0, 1, 0, len(sensors) - 2]
    assert city_only.wifi is not None
    assert city_only.wifi.hotspots == []
    assert city_only.lights == {"ok": 0, "off": 0, "fault": 0, "no_data": 0}
    assert [c.code for c in city_only.waste_due] == [containers[0]]
