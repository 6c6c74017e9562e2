"""Sensing core and create-update-delete over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tests.sensorthings.conftest import ROOT, THING, create, get


async def test_service_root_lists_entity_sets_and_conformance(sta: AsyncTestClient[Any]) -> None:
    root = await get(sta, "")
    names = {item["name"] for item in root["value"]}
    assert names >= {
        "Things",
        "Locations",
        "HistoricalLocations",
        "Datastreams",
        "MultiDatastreams",
        "Sensors",
        "ObservedProperties",
        "Observations",
        "FeaturesOfInterest",
    }
    assert root["value"][0]["url"].startswith("http://testserver.local/sta/v1.1/")
    assert (
        "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel" in root["serverSettings"]["conformance"]
    )


async def test_deep_insert_creates_and_links_everything(sta: AsyncTestClient[Any]) -> None:
    thing_id = await create(sta, "Things", THING)
    thing = await get(
        sta, f"Things({thing_id})?$expand=Locations,Datastreams($expand=Sensor,ObservedProperty)"
    )
    assert thing["name"] == THING["name"]
    assert thing["@iot.selfLink"] == f"http://testserver.local{ROOT}/Things({thing_id})"
    assert thing["Locations"][0]["location"]["coordinates"] == [6.7635, 51.4325]
    datastream = thing["Datastreams"][0]
    assert datastream["unitOfMeasurement"]["symbol"] == "lx"
    assert datastream["Sensor"]["name"] == "BH1750"
    assert datastream["ObservedProperty"]["name"] == "Beleuchtungsstärke"
    assert "HistoricalLocations@iot.navigationLink" in thing
    history = await get(sta, f"Things({thing_id})/HistoricalLocations?$expand=Locations")
    assert len(history["value"]) == 1
    assert history["value"][0]["Locations"][0]["name"] == "Königstraße 12"


async def test_observations_get_a_feature_of_interest_from_the_location(sta: AsyncTestClient[Any]) -> None:
    thing_id = await create(sta, "Things", THING)
    datastreams = await get(sta, f"Things({thing_id})/Datastreams")
    ds = datastreams["value"][0]["@iot.id"]
    first = await create(
        sta, f"Datastreams({ds})/Observations", {"phenomenonTime": "2026-11-17T16:00:00Z", "result": 12.5}
    )
    second = await create(
        sta,
        "Observations",
        {"phenomenonTime": "2026-11-17T16:15:00Z", "result": 3, "Datastream": {"@iot.id": ds}},
    )
    a = await get(sta, f"Observations({first})?$expand=FeatureOfInterest")
    b = await get(sta, f"Observations({second})?$expand=FeatureOfInterest")
    assert a["FeatureOfInterest"]["@iot.id"] == b["FeatureOfInterest"]["@iot.id"]
    assert a["FeatureOfInterest"]["feature"]["coordinates"] == [6.7635, 51.4325]
    assert a["result"] == 12.5
    assert b["result"] == 3
    assert a["phenomenonTime"] == "2026-11-17T16:00:00Z"
    stream = await get(sta, f"Datastreams({ds})")
    assert stream["phenomenonTime"] == "2026-11-17T16:00:00Z/2026-11-17T16:15:00Z"


async def test_query_options_filter_orderby_top_skip_count_select(sta: AsyncTestClient[Any]) -> None:
    thing_id = await create(sta, "Things", THING)
    ds = (await get(sta, f"Things({thing_id})/Datastreams"))["value"][0]["@iot.id"]
    for minute, value in enumerate([5.0, 50.0, 500.0, 7.0, 70.0]):
        await create(
            sta,
            f"Datastreams({ds})/Observations",
            {"phenomenonTime": f"2026-11-17T16:{minute:02d}:00Z", "result": value},
        )
    page = await get(
        sta,
        f"Datastreams({ds})/Observations?$filter=result gt 6&$orderby=result DESC&$top=2&$count=true&$select=result,id",
    )
    assert page["@iot.count"] == 4
    assert [o["result"] for o in page["value"]] == [500.0, 70.0]
    assert set(page["value"][0]) == {"@iot.id", "result"}
    assert "$skip=2" in page["@iot.nextLink"]
    rest = await sta.get(page["@iot.nextLink"])
    assert [o["result"] for o in rest.json()["value"]] == [50.0, 7.0]
    by_time = await get(
        sta, "Observations?$filter=phenomenonTime ge 2026-11-17T16:03:00Z&$orderby=phenomenonTime asc"
    )
    assert [o["result"] for o in by_time["value"]] == [7.0, 70.0]
    by_nav = await get(sta, f"Observations?$filter=Datastream/Thing/name eq '{THING['name']}'&$count=true")
    assert by_nav["@iot.count"] == 5
    by_any = await get(sta, "Things?$filter=Datastreams/ObservedProperty/name eq 'Beleuchtungsstärke'")
    assert [t["@iot.id"] for t in by_any["value"]] == [thing_id]
    none = await get(sta, "Things?$filter=Datastreams/any(d: d/name eq 'Temperatur')")
    assert none["value"] == []
    json_path = await get(sta, "Things?$filter=properties/district eq 'Duisburg-Mitte'")
    assert len(json_path["value"]) == 1
    spatial = await get(
        sta,
        "Locations?$filter=st_within(location, geography'POLYGON((6.7 51.4, 6.8 51.4, 6.8 51.5, 6.7 51.5, 6.7 51.4))')",
    )
    assert len(spatial["value"]) == 1
    outside = await get(
        sta,
        "Locations?$filter=st_within(location, geography'POLYGON((7 52, 7.1 52, 7.1 52.1, 7 52.1, 7 52))')",
    )
    assert outside["value"] == []
    text = await get(
        sta, "Things?$filter=startswith(tolower(name), 'straßen') and substringof('Königstraße', name)"
    )
    assert len(text["value"]) == 1


async def test_properties_value_and_ref(sta: AsyncTestClient[Any]) -> None:
    thing_id = await create(sta, "Things", THING)
    assert await get(sta, f"Things({thing_id})/name") == {"name": THING["name"]}
    raw = await sta.get(f"{ROOT}/Things({thing_id})/name/$value")
    assert raw.text == THING["name"]
    assert await get(sta, f"Things({thing_id})/properties/district") == {"district": "Duisburg-Mitte"}
    refs = await get(sta, f"Things({thing_id})/Datastreams/$ref")
    assert refs["value"][0]["@iot.selfLink"].startswith("http://testserver.local/sta/v1.1/Datastreams(")


async def test_patch_put_delete_and_cascade(sta: AsyncTestClient[Any]) -> None:
    thing_id = await create(sta, "Things", THING)
    ds = (await get(sta, f"Things({thing_id})/Datastreams"))["value"][0]["@iot.id"]
    obs = await create(sta, f"Datastreams({ds})/Observations", {"result": 1})
    patched = await sta.patch(f"{ROOT}/Things({thing_id})", json={"description": "neu"})
    assert patched.status_code == 200
    thing = await get(sta, f"Things({thing_id})")
    assert (thing["description"], thing["name"]) == ("neu", THING["name"])
    replaced = await sta.put(f"{ROOT}/Things({thing_id})", json={"name": "Laterne", "description": "ersetzt"})
    assert replaced.status_code == 200
    assert (await get(sta, f"Things({thing_id})"))["name"] == "Laterne"
    missing = await sta.put(f"{ROOT}/Things({thing_id})", json={"name": "ohne Beschreibung"})
    assert missing.status_code == 400
    assert "description" in missing.json()["message"]
    assert (await sta.delete(f"{ROOT}/Things({thing_id})")).status_code == 200
    await get(sta, f"Things({thing_id})", status=404)
    await get(sta, f"Datastreams({ds})", status=404)
    await get(sta, f"Observations({obs})", status=404)


async def test_bad_input_gets_400_with_a_message(sta: AsyncTestClient[Any]) -> None:
    for path, needle in [
        ("Things?$filter=name eq", "$filter"),
        ("Things?$top=-1", "$top"),
        ("Things?$count=vielleicht", "$count"),
        ("Things?$orderby=name sideways", "$orderby"),
        ("Things?$expand=Nonsense", "Nonsense"),
        ("Things?$filter=nosuch eq 1", "nosuch"),
        ("Dinge", "Dinge"),
    ]:
        response = await sta.get(f"{ROOT}/{path}")
        assert response.status_code == 400, (path, response.text)
        assert needle in response.json()["message"], (path, response.json())
    bad_json = await sta.post(
        f"{ROOT}/Things", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 400
    assert "JSON" in bad_json.json()["message"]
    no_name = await sta.post(f"{ROOT}/Things", json={"description": "x"})
    assert no_name.status_code == 400
    assert "name" in no_name.json()["message"]
    unknown_link = await sta.post(f"{ROOT}/Observations", json={"result": 1, "Datastream": {"@iot.id": 999}})
    assert unknown_link.status_code == 400
    assert "Datastreams(999)" in unknown_link.json()["message"]
    await get(sta, "Things(999)", status=404)
