"""The console over HTTP: who may open what, the map's GeoJSON, clear 4xx for bad filters, the pages."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from stadtkern.core.audit.models import AuditEntry
from stadtkern.sensorthings.events import EntityEvent, StreamAccess
from stadtkern.twin.console import live
from stadtkern.twin.console.live import StateTracker
from stadtkern.twin.console.services import ConsoleViewer, MapAsset, MapFilter
from tests.support.accounts import login_as, logout
from tests.twin.console.conftest import City, codes_of, stream_id, write

MAP = "/api/leitstelle/karte"


async def test_only_operators_and_admins_open_the_console(client: AsyncTestClient[Any], city: City) -> None:
    anonymous = await client.get(MAP)
    assert anonymous.status_code == 401
    page = await client.get("/leitstelle", follow_redirects=False)
    assert page.status_code in (302, 303)
    await login_as(client, city.rt, city.citizen)
    assert (await client.get(MAP)).status_code == 403
    assert (await client.get("/leitstelle/kennzahlen")).status_code == 403
    await login_as(client, city.rt, city.stadtwerke)
    assert (await client.get(MAP)).status_code == 200


async def test_the_map_geojson_with_filters_and_meter_aggregates(
    client: AsyncTestClient[Any], city: City
) -> None:
    await login_as(client, city.rt, city.stadtwerke)
    response = await client.get(MAP, params={"typ": "wifi_hotspot"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 12
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "Point"
    assert feature["properties"]["state"] == "no_data"
    assert {"code", "name", "type", "district", "state"} <= set(feature["properties"])
    meters = {m["district"]: m for m in body["householdMeters"]}
    assert meters
    assert all(set(m) == {"district", "count", "energyKwhLastDay"} for m in meters.values())
    assert "household-meter" not in response.text

    in_district = (await client.get(MAP, params={"typ": "street_light", "bezirk": "200"})).json()
    assert in_district["features"]
    assert {f["properties"]["district"] for f in in_district["features"]} == {"200"}
    assert {m["district"] for m in in_district["householdMeters"]} == {"200"}


async def test_bad_filters_are_refused_by_name(client: AsyncTestClient[Any], city: City) -> None:
    await login_as(client, city.rt, city.admin)
    response = await client.get(MAP, params={"typ": "household_meter"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert "household_meter" in error["message"]
    response = await client.get(MAP, params={"bezirk": "Mitte"})
    assert response.status_code == 400
    assert "Mitte" in response.json()["error"]["message"]
    page = await client.get("/leitstelle", params={"seite": "zwei"})
    assert page.status_code == 400
    assert "ganze Zahl" in page.text
    asset = await client.get("/leitstelle/anlagen/wifi-hotspot-zoo", params={"bereich": "1j"})
    assert asset.status_code == 400
    assert "1j" in asset.text


async def test_map_page_lists_the_filtered_assets(client: AsyncTestClient[Any], city: City) -> None:
    await login_as(client, city.rt, city.stadtwerke)
    page = await client.get("/leitstelle", params={"typ": "wifi_hotspot"})
    assert page.status_code == 200
    assert page.text.count('<tr data-code="wifi-hotspot-') == 12
    assert "© OpenStreetMap" in page.text
    assert "/static/vendor/leaflet.markercluster.js" in page.text
    settings = json.loads(
        page.text.split('data-settings="')[1].split('"', 1)[0].replace("&#34;", '"').replace("&amp;", "&")
    )
    assert settings["api"] == "/api/leitstelle/karte?typ=wifi_hotspot"
    assert settings["tileUrl"] == ""
    shapes = await client.get("/leitstelle/bezirke.geojson")
    assert shapes.status_code == 200
    assert len(shapes.json()["features"]) == 7
    assert "OpenStreetMap" in shapes.json()["attribution"]
    # Paging: the list shows 50 at a time; a page beyond the end shows the last one.
    all_page = await client.get("/leitstelle", params={"seite": "999"})
    assert all_page.status_code == 200
    assert "Vorherige Seite" in all_page.text


async def test_asset_page_with_chart_data_and_table(client: AsyncTestClient[Any], city: City) -> None:
    rt = city.rt
    now = rt.clock.now()
    await write(rt, "wifi-hotspot-zoo", "logins", [(now - timedelta(minutes=15 * i), 7) for i in range(4)])
    await login_as(client, rt, city.stadtwerke)
    page = await client.get("/leitstelle/anlagen/wifi-hotspot-zoo")
    assert page.status_code == 200
    assert "Anmeldungen" in page.text or "logins" in page.text
    data = json.loads(
        page.text.split('<script type="application/json" id="reihen-daten">')[1].split("</script>")[0]
    )
    logins = next(s for s in data if s["id"] == "reihe-logins")
    assert logins["unit"]
    assert len(logins["times"]) == 24
    assert sum(v for v in logins["values"] if v) == 28
    assert "Werte als Tabelle" in page.text
    assert 'data-hook="stadtkern.twin.alerts.services.alerts_for_asset"' in page.text
    week = await client.get("/leitstelle/anlagen/wifi-hotspot-zoo", params={"bereich": "7t"})
    assert week.status_code == 200
    assert (await client.get("/leitstelle/anlagen/gibt-es-nicht")).status_code == 404
    await login_as(client, rt, city.stadt)
    assert (await client.get("/leitstelle/anlagen/wifi-hotspot-zoo")).status_code == 403


async def test_meter_page_for_the_owner_and_audited_for_staff(
    client: AsyncTestClient[Any], city: City
) -> None:
    rt = city.rt

    async def audit_count() -> int:
        async with rt.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)

    before = await audit_count()
    await login_as(client, rt, city.owner)
    assert (await client.get("/leitstelle/anlagen/household-meter-demo-1")).status_code == 200
    assert await audit_count() == before
    await login_as(client, rt, city.citizen)
    assert (await client.get("/leitstelle/anlagen/household-meter-demo-1")).status_code == 403
    # Admins run the platform but are not the utility's control room: no household data for them.
    await login_as(client, rt, city.admin)
    assert (await client.get("/leitstelle/anlagen/household-meter-demo-1")).status_code == 403
    await login_as(client, rt, city.stadtwerke)
    page = await client.get("/leitstelle/anlagen/household-meter-demo-1")
    assert page.status_code == 200
    assert "protokolliert" in page.text
    assert await audit_count() > before
    logout(client)


async def test_dashboard_page(client: AsyncTestClient[Any], city: City) -> None:
    rt = city.rt
    now = rt.clock.now()
    await write(rt, "wifi-hotspot-zoo", "logins", [(now - timedelta(hours=1), 1234)])
    await login_as(client, rt, city.admin)
    page = await client.get("/leitstelle/kennzahlen")
    assert page.status_code == 200
    assert "1.234" in page.text
    assert "100.000" in page.text
    assert "Abfallbehälter zur Leerung fällig" in page.text
    assert "Straßenbeleuchtung" in page.text


async def test_live_tracker_sends_only_changes_of_known_streams(city: City) -> None:
    rt = city.rt
    lamp = (await codes_of(rt, "street_light"))[0]
    dim = await stream_id(rt, lamp, "dim_level")
    tracker = StateTracker(
        [MapAsset(lamp, "street_light", "L", "500", "stadtwerke", 6.7, 51.4, "ok")], {dim: lamp}
    )

    def observation(datastream: int) -> EntityEvent:
        stream = StreamAccess(multi=False, id=datastream, thing_id=None, access="public")
        return EntityEvent(kind="create", set_name="Observations", id=1, json={}, stream=stream)

    other = EntityEvent(kind="create", set_name="Things", id=3, json={})
    assert tracker.affected([observation(dim), observation(dim + 100_000), other]) == {lamp}
    same = MapAsset(lamp, "street_light", "L", "500", "stadtwerke", 6.7, 51.4, "ok")
    assert tracker.changes([same]) == []
    broken = MapAsset(lamp, "street_light", "L", "500", "stadtwerke", 6.7, 51.4, "fault")
    assert tracker.changes([broken]) == [{"code": lamp, "state": "fault"}]
    assert tracker.changes([broken]) == []


async def test_live_stream_starts_with_the_number_of_assets(client: AsyncTestClient[Any], city: City) -> None:
    # The app of these tests has no event bus; the browser test runs the real, endless stream.
    await login_as(client, city.rt, city.stadtwerke)
    refused = await client.get("/leitstelle/live", params={"bezirk": "nirgendwo"})
    assert refused.status_code == 400
    assert "nirgendwo" in refused.text
    rt = city.rt
    messages = live.state_changes(
        rt.sessions,
        rt.clock,
        None,
        city.types,
        ConsoleViewer.of(city.stadtwerke),
        MapFilter(frozenset({"wifi_hotspot"})),
    )
    assert [m async for m in messages] == [
        {"event": "ready", "data": json.dumps({"assets": 12, "live": False}), "retry": 60_000}
    ]
    # Over HTTP the same: without the event bus the stream ends after saying so.
    stream = await client.get("/leitstelle/live", params={"typ": "wifi_hotspot"})
    assert stream.status_code == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert "event: ready" in stream.text
    assert '"live": false' in stream.text
