"""Provisioning the demo city into SensorThings: Things and Datastreams with the right access, idempotent."""

from __future__ import annotations

from collections import Counter
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from stadtkern.contracts import AssetType
from stadtkern.sensorthings import models as sta
from stadtkern.sensorthings.keys import KeyGrant
from stadtkern.sensorthings.service import SensorThingsService
from stadtkern.twin import services
from stadtkern.twin.models import ASSETS
from stadtkern.twin.provisioning import ProvisionReport
from stadtkern.web.runtime import Runtime
from tests.support.accounts import login_as, logout, make_user

ROOT = "/sta/v1.1"


async def provision(runtime: Runtime, types: dict[str, AssetType], scale: float | None) -> ProvisionReport:
    async with runtime.sessions() as session, session.begin():
        return await services.provision_city(
            session, runtime.city, types, now=runtime.clock.now(), scale=scale
        )


async def snapshot(runtime: Runtime) -> dict[str, Any]:
    async with runtime.sessions() as session:
        streams = (
            await session.execute(
                select(
                    sta.DATASTREAMS.c.id,
                    sta.DATASTREAMS.c.thing_id,
                    sta.DATASTREAMS.c.access,
                    sta.DATASTREAMS.c.organisation,
                    sta.DATASTREAMS.c.owner_user_id,
                    sta.DATASTREAMS.c.retention_days,
                ).order_by(sta.DATASTREAMS.c.id)
            )
        ).all()
        things = (
            await session.execute(select(sta.THINGS.c.id, sta.THINGS.c.name).order_by(sta.THINGS.c.id))
        ).all()
        assets = (
            await session.execute(select(ASSETS.c.code, ASSETS.c.thing_id).order_by(ASSETS.c.code))
        ).all()
        return {"streams": streams, "things": things, "assets": assets}


async def test_the_default_demo_city_is_provisioned(rt: Runtime, types: dict[str, AssetType]) -> None:
    runtime = rt
    report = await provision(runtime, types, scale=None)
    assert 3000 <= report.assets_added <= 6000
    assert report.things_created == report.assets_added
    async with runtime.sessions() as session:
        records = await services.list_assets(session)
        assert len(records) == report.assets_added
        assert await session.scalar(select(func.count()).select_from(sta.THINGS)) == report.assets_added
        stream_count = await session.scalar(select(func.count()).select_from(sta.DATASTREAMS))
        assert stream_count == report.datastreams_created
        access = Counter(
            (
                await session.execute(
                    select(sta.DATASTREAMS.c.access, func.count()).group_by(sta.DATASTREAMS.c.access)
                )
            ).all()
        )
    meters = sum(len(r.datastreams) for r in records if r.type_key == "household_meter")
    assert dict(access) == {("personal", meters): 1, ("public", stream_count - meters): 1}
    for record in records:
        # Streams with only_with (a meter's feed-in) only where the asset's property says so.
        wanted = {s.key for s in types[record.type_key].datastreams if s.present_for(record.properties)}
        assert set(record.datastreams) == wanted
    lights = [r for r in records if r.type_key == "street_light"]
    assert all(set(r.datastreams) == {"dim_level", "fault"} for r in lights)
    hotspots = await _list(runtime, ["wifi_hotspot"])
    assert {r.name for r in hotspots} >= {"Zoo Duisburg", "Straßenverkehrsamt"}
    assert len(hotspots) == 12


async def _list(runtime: Runtime, type_keys: list[str]) -> list[services.AssetRecord]:
    async with runtime.sessions() as session:
        return await services.list_assets(session, type_keys=type_keys)


async def test_meters_are_personal_and_never_visible_anonymously(
    client: AsyncTestClient[Any], runtime: Runtime, types: dict[str, AssetType]
) -> None:
    owner = await make_user(runtime, "haushalt1@stadtkern.localhost")
    await provision(runtime, types, scale=0.05)
    meters = await _list(runtime, ["household_meter"])
    demo = next(m for m in meters if m.code == "household-meter-demo-1")
    other = next(m for m in meters if not m.properties.get("demo_household"))
    async with runtime.sessions() as session:
        rows = {
            row.id: row
            for row in (
                await session.execute(
                    select(sta.DATASTREAMS).where(
                        sta.DATASTREAMS.c.id.in_([demo.datastreams["energy"], other.datastreams["energy"]])
                    )
                )
            ).all()
        }
    assert rows[demo.datastreams["energy"]].owner_user_id == owner.id
    assert rows[other.datastreams["energy"]].owner_user_id is None
    for row in rows.values():
        assert (row.access, row.organisation, row.retention_days) == ("personal", "stadtwerke", 730)

    meter_streams = {m.datastreams["energy"] for m in meters}
    light = (await _list(runtime, ["street_light"]))[0]

    async def visible_streams() -> set[int]:
        ids: set[int] = set()
        url = f"{ROOT}/Datastreams?$select=id&$top=1000"
        while url:
            page = (await client.get(url)).json()
            ids |= {v["@iot.id"] for v in page["value"]}
            url = page.get("@iot.nextLink", "").replace("http://testserver.local", "")
        return ids

    logout(client)
    anonymous = await visible_streams()
    assert light.datastreams["dim_level"] in anonymous
    assert not anonymous & meter_streams
    assert (await client.get(f"{ROOT}/Datastreams({demo.datastreams['energy']})")).status_code == 404
    things = (await client.get(f"{ROOT}/Things?$filter=properties/assetType eq 'household_meter'")).json()
    assert things["value"] == []
    # The owner sees the own meter, and only that one.
    await login_as(client, runtime, owner)
    assert (await visible_streams()) & meter_streams == {demo.datastreams["energy"]}


async def test_provisioning_is_idempotent(rt: Runtime, types: dict[str, AssetType]) -> None:
    runtime = rt
    first = await provision(runtime, types, scale=0.05)
    before = await snapshot(runtime)
    again = await provision(runtime, types, scale=0.05)
    assert (again.assets_added, again.things_created, again.datastreams_created) == (0, 0, 0)
    assert await snapshot(runtime) == before

    # A Thing deleted through the API comes back (only that one); the rest stays as it was.
    lights = await _list(runtime, ["street_light"])
    service = SensorThingsService(runtime.sessions, runtime.clock, runtime.engine.dialect.name)
    async with runtime.sessions() as session:
        thing_id = await session.scalar(select(ASSETS.c.thing_id).where(ASSETS.c.code == lights[0].code))
    await service.delete(f"Things({thing_id})", grant=KeyGrant(None, frozenset(), frozenset()))
    repaired = await provision(runtime, types, scale=0.05)
    assert (repaired.assets_added, repaired.things_created, repaired.datastreams_created) == (0, 1, 2)
    after = await snapshot(runtime)
    assert len(after["things"]) == len(before["things"])
    unchanged = [s for s in before["streams"] if s.thing_id != thing_id]
    assert [s for s in after["streams"] if s in unchanged] == unchanged

    # A larger scale adds assets and keeps every existing one.
    grown = await provision(runtime, types, scale=0.1)
    assert grown.assets_added > 0
    assert grown.things_created == grown.assets_added
    final = await snapshot(runtime)
    assert {code for code, _thing in after["assets"]} <= {code for code, _thing in final["assets"]}
    assert first.assets_added + grown.assets_added == len(final["assets"])


async def test_an_owner_who_registers_later_is_attached(rt: Runtime, types: dict[str, AssetType]) -> None:
    await provision(rt, types, scale=0.02)
    owner = await make_user(rt, "haushalt2@stadtkern.localhost")
    report = await provision(rt, types, scale=0.02)
    assert report.owners_set == 1
    demo = next(m for m in await _list(rt, ["household_meter"]) if m.code == "household-meter-demo-2")
    stream = sta.DATASTREAMS
    async with rt.sessions() as session:
        got = await session.scalar(
            select(stream.c.owner_user_id).where(stream.c.id == demo.datastreams["energy"])
        )
    assert got == owner.id
