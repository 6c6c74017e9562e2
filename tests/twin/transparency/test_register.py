"""The transparency register: every kind with its enforced retention and access, sensors on the map and in
the list, household meters only as counts per district (small counts suppressed)."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from stadtkern.contracts import AssetType
from stadtkern.sensorthings.service import SensorThingsService
from stadtkern.twin.models import ASSETS
from stadtkern.twin.transparency import services
from stadtkern.twin.transparency.views import retention_label
from stadtkern.web.runtime import Runtime
from tests.twin.opendata.support import provision_small_city


def sta_service(runtime: Runtime) -> SensorThingsService:
    return SensorThingsService(runtime.sessions, runtime.clock, runtime.engine.dialect.name)


async def test_register_lists_every_type_with_the_retention_actually_enforced(
    client: AsyncTestClient[Any], runtime: Runtime, types: dict[str, AssetType]
) -> None:
    records = await provision_small_city(runtime, types)
    light = next(r for r in records if r.type_key == "street_light")
    # The policy the retention job enforces changes for one stream: the register must show that, not the
    # 365 days the asset type declares.
    await sta_service(runtime).set_stream_policy(
        light.datastreams["fault"], access="public", retention_days=30
    )
    async with runtime.sessions() as session:
        kinds = {k.key: k for k in await services.sensor_kinds(session, types, runtime.city)}
    assert set(kinds) == set(types)
    lights = sum(1 for r in records if r.type_key == "street_light")
    assert kinds["street_light"].retention == [
        services.EnforcedRetention(30, 1),
        services.EnforcedRetention(365, 2 * lights - 1),
    ]
    for key, kind in kinds.items():
        if key != "street_light":
            streams = sum(len(r.datastreams) for r in records if r.type_key == key)
            assert kind.retention == [services.EnforcedRetention(types[key].retention.days, streams)]
    # Consumption for every meter, feed-in for those with a PV system.
    assert kinds["household_meter"].access == {
        "personal": sum(len(r.datastreams) for r in records if r.type_key == "household_meter")
    }
    assert kinds["wifi_hotspot"].access == {"public": 12 * 3}

    response = await client.get("/transparenz")
    assert response.status_code == 200
    page = response.text
    for asset_type in types.values():
        assert str(asset_type.title) in page
        # Each Sensor's metadata in SensorThings points at its kind's entry here.
        assert f'<li class="card" id="{asset_type.key}">' in page
        assert f'href="/transparenz/{asset_type.key}"' in page
    assert retention_label(30) in page
    assert "30 Tage" in page
    assert "1 Jahr (365 Tage)" in page
    assert "Diese WLAN-Zugänge speichern keine Geräte-Kennungen" in page
    assert "© OpenStreetMap contributors" in page
    assert "Stadtwerke Duisburg" in page

    for key in types:
        detail = await client.get(f"/transparenz/{key}")
        assert detail.status_code == 200, key
        assert str(types[key].title) in detail.text
        assert "© OpenStreetMap contributors" in detail.text
    detail = await client.get("/transparenz/street_light")
    assert "30 Tage" in detail.text
    assert "1 Messreihe" in detail.text
    missing = await client.get("/transparenz/kamera")
    assert missing.status_code == 404
    assert "Eine Sensorart „kamera“ gibt es im Register nicht." in missing.text


async def test_a_stream_without_retention_says_so(
    client: AsyncTestClient[Any], runtime: Runtime, types: dict[str, AssetType]
) -> None:
    records = await provision_small_city(runtime, types)
    hotspot = next(r for r in records if r.type_key == "wifi_hotspot")
    await sta_service(runtime).set_stream_policy(hotspot.datastreams["logins"], access="public")
    detail = await client.get("/transparenz/wifi_hotspot")
    assert "keine Löschfrist eingestellt" in detail.text
    assert "2 Jahre (730 Tage)" in detail.text


async def test_household_meters_are_never_shown_one_by_one(
    client: AsyncTestClient[Any], runtime: Runtime, types: dict[str, AssetType]
) -> None:
    records = await provision_small_city(runtime, types)
    meters = [r for r in records if r.type_key == "household_meter"]
    assert meters
    points = (await client.get("/transparenz/daten/sensoren.geojson")).json()
    codes = {f["properties"]["code"] for f in points["features"]}
    assert codes == {r.code for r in records if r.type_key != "household_meter"}
    assert {f["properties"]["type"] for f in points["features"]} == set(types) - {"household_meter"}

    pages = [await client.get("/transparenz"), await client.get("/transparenz/household_meter")]
    for number in range(2, 30):
        response = await client.get(f"/transparenz?seite={number}")
        pages.append(response)
        if "Nächste Seite" not in response.text:
            break
    for response in pages:
        assert not any(meter.code in response.text for meter in meters)
    # The list refuses the kind; the counts per district appear, small ones suppressed.
    refused = await client.get("/transparenz?art=household_meter")
    assert refused.status_code == 400
    assert "Eine Sensorart „household_meter“ steht nicht in der Liste." in refused.text
    async with runtime.sessions() as session:
        kind = next(
            k for k in await services.sensor_kinds(session, types, runtime.city) if k.key == "household_meter"
        )
    per_district: dict[str, int] = {}
    for meter in meters:
        per_district[meter.district_code] = per_district.get(meter.district_code, 0) + 1
    assert kind.per_district == {code: (None if n < 5 else n) for code, n in per_district.items()}
    assert None in kind.per_district.values() or min(per_district.values()) >= 5
    detail = pages[1].text
    for n in kind.per_district.values():
        assert (f"<td>{n}</td>" if n is not None else "weniger als 5") in detail


async def test_list_filters_by_kind_and_district_and_pages(
    client: AsyncTestClient[Any], runtime: Runtime, types: dict[str, AssetType]
) -> None:
    await provision_small_city(runtime, types)
    async with runtime.sessions() as session:
        expected = await session.scalar(
            select(func.count())
            .select_from(ASSETS)
            .where(ASSETS.c.type_key == "street_light", ASSETS.c.district_code == "500")
        )
        everything = await session.scalar(
            select(func.count()).select_from(ASSETS).where(ASSETS.c.type_key != "household_meter")
        )
    response = await client.get("/transparenz?art=street_light&bezirk=500")
    assert response.status_code == 200
    assert f"{expected} Sensoren gefunden" in response.text
    rows = re.findall(r"<code>(street-light-[^<]+)</code>", response.text)
    assert rows
    assert all(code.startswith("street-light-500-") for code in rows)
    assert len(rows) == min(expected or 0, services.PAGE_SIZE)

    first = await client.get("/transparenz")
    assert f"{everything} Sensoren gefunden" in first.text
    assert "Seite 1 von" in first.text
    second = await client.get("/transparenz?seite=2")
    codes_first = set(re.findall(r"<small><code>([^<]+)</code>", first.text))
    codes_second = set(re.findall(r"<small><code>([^<]+)</code>", second.text))
    assert len(codes_first) == services.PAGE_SIZE
    assert codes_second
    assert not codes_first & codes_second

    for query, message in [
        ("seite=abc", "Die Seite muss eine ganze Zahl ab 1 sein, nicht „abc“."),
        ("bezirk=999", "Einen Stadtbezirk „999“ gibt es nicht."),
    ]:
        bad = await client.get(f"/transparenz?{query}")
        assert bad.status_code == 400
        assert message in bad.text


async def test_district_shapes_carry_the_osm_attribution(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/transparenz/daten/bezirke.geojson")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    shapes = response.json()
    assert shapes["attribution"] == "© OpenStreetMap contributors"
    assert len(shapes["features"]) == 7
    assert {f["geometry"]["type"] for f in shapes["features"]} <= {"Polygon", "MultiPolygon"}
    assert "Rheinhausen" in {f["properties"]["name"] for f in shapes["features"]}
