"""Sensing Core: ``req/datamodel/...`` and ``req/resource-path/resource-path-to-entities`` (plus
``req/request-data/status-code`` which the core tests check)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.conformance.helpers import ROOT, create, full_thing, get

BASE = f"http://testserver.local{ROOT}"

# Mandatory properties and navigation properties of every entity type (18-088 / FROST PluginCoreModel).
MODEL: dict[str, tuple[str, set[str], set[str]]] = {
    "thing": ("Things", {"name", "description"}, {"Locations", "HistoricalLocations", "Datastreams"}),
    "location": (
        "Locations",
        {"name", "description", "encodingType", "location"},
        {"Things", "HistoricalLocations"},
    ),
    "historical-location": ("HistoricalLocations", {"time"}, {"Thing", "Locations"}),
    "datastream": (
        "Datastreams",
        {"name", "description", "unitOfMeasurement", "observationType"},
        {"Thing", "Sensor", "ObservedProperty", "Observations"},
    ),
    "sensor": ("Sensors", {"name", "description", "encodingType", "metadata"}, {"Datastreams"}),
    "observed-property": ("ObservedProperties", {"name", "definition", "description"}, {"Datastreams"}),
    "observation": (
        "Observations",
        {"phenomenonTime", "result", "resultTime"},
        {"Datastream", "FeatureOfInterest"},
    ),
    "feature-of-interest": (
        "FeaturesOfInterest",
        {"name", "description", "encodingType", "feature"},
        {"Observations"},
    ),
}


async def _world(sta: AsyncTestClient[Any]) -> dict[str, int]:
    ids = await full_thing(sta)
    ids["observation"] = await create(
        sta,
        f"Datastreams({ids['datastream']})/Observations",
        {"phenomenonTime": "2026-11-17T16:00:00Z", "result": 21.5},
    )
    return ids


async def test_req_datamodel_entity_control_information_common_control_information(
    sta: AsyncTestClient[Any],
) -> None:
    """req/datamodel/entity-control-information/common-control-information: @iot.id, @iot.selfLink and one
    navigationLink per navigation property, on every entity of every set."""
    await _world(sta)
    for _req, (entity_set, _props, navs) in MODEL.items():
        page = await get(sta, entity_set)
        assert page["value"], entity_set
        for entity in page["value"]:
            key = entity["@iot.id"]
            assert isinstance(key, int)
            assert entity["@iot.selfLink"] == f"{BASE}/{entity_set}({key})"
            for nav in navs:
                link = entity[f"{nav}@iot.navigationLink"]
                assert link.endswith(f"{entity_set}({key})/{nav}"), (entity_set, nav, link)
            # the selfLink is dereferenceable
            again = await sta.get(entity["@iot.selfLink"])
            assert again.status_code == 200
            assert again.json()["@iot.id"] == key


@pytest.mark.parametrize("req", sorted(MODEL))
async def test_req_datamodel_properties_and_relations(sta: AsyncTestClient[Any], req: str) -> None:
    """req/datamodel/<entity>/properties and req/datamodel/<entity>/relations for thing, location,
    historical-location, datastream, sensor, observed-property, observation, feature-of-interest."""
    await _world(sta)
    entity_set, props, navs = MODEL[req]
    entity = (await get(sta, f"{entity_set}?$top=1"))["value"][0]
    assert props <= set(entity), (req, sorted(entity))
    for nav in navs:
        followed = await get(sta, f"{entity_set}({entity['@iot.id']})/{nav}")
        if nav.endswith("s"):
            assert isinstance(followed["value"], list)
        else:
            assert "@iot.id" in followed


async def test_req_datamodel_datastream_computed_properties(sta: AsyncTestClient[Any]) -> None:
    """req/datamodel/datastream/properties: phenomenonTime/resultTime are server-computed periods and
    observedArea a GeoJSON geometry covering the features of interest."""
    ids = await _world(sta)
    await create(
        sta,
        f"Datastreams({ids['datastream']})/Observations",
        {"phenomenonTime": "2026-11-17T18:00:00Z", "resultTime": "2026-11-17T18:01:00Z", "result": 3},
    )
    stream = await get(sta, f"Datastreams({ids['datastream']})")
    assert stream["phenomenonTime"] == "2026-11-17T16:00:00Z/2026-11-17T18:00:00Z"
    assert stream["resultTime"] == "2026-11-17T18:01:00Z/2026-11-17T18:01:00Z"
    assert "observedArea" in stream


async def test_req_datamodel_datastream_observed_area(sta: AsyncTestClient[Any]) -> None:
    """req/datamodel/datastream/properties: observedArea (read-only, server-computed) covers the features of
    interest of the Datastream's Observations, as FROST computes it."""
    ids = await _world(sta)
    stream = await get(sta, f"Datastreams({ids['datastream']})")
    assert stream["observedArea"]["type"] in ("Point", "Polygon")


async def test_req_datamodel_observation_result_time_null(sta: AsyncTestClient[Any]) -> None:
    """req/datamodel/observation/properties: resultTime is mandatory in the table but may be null when the
    client omits it; phenomenonTime is filled in by the server when absent (FROST)."""
    ids = await _world(sta)
    obs = await create(sta, f"Datastreams({ids['datastream']})/Observations", {"result": 4})
    body = await get(sta, f"Observations({obs})")
    assert body["resultTime"] is None
    assert isinstance(body["phenomenonTime"], str)


async def test_req_resource_path_usage1_service_root(sta: AsyncTestClient[Any]) -> None:
    """req/resource-path/resource-path-to-entities, usage 1: the service root lists every entity set with an
    absolute url and serverSettings.conformance carries the class URIs."""
    for suffix in ("", "/"):
        response = await sta.get(f"{ROOT}{suffix}")
        assert response.status_code == 200, suffix
        root = response.json()
        sets = {item["name"]: item["url"] for item in root["value"]}
        for entity_set, _p, _n in MODEL.values():
            assert sets[entity_set] == f"{BASE}/{entity_set}"
        conformance = root["serverSettings"]["conformance"]
        for cls in (
            "datamodel",
            "resource-path/resource-path-to-entities",
            "request-data",
            "create-update-delete",
            "multi-datastream",
        ):
            assert f"http://www.opengis.net/spec/iot_sensing/1.1/req/{cls}" in conformance


async def test_req_resource_path_usages_2_to_8(sta: AsyncTestClient[Any]) -> None:
    """req/resource-path/resource-path-to-entities, usages 2-8: collection, entity, property, $value,
    navigation, $ref and nested paths."""
    ids = await _world(sta)
    obs = ids["observation"]
    things = await get(sta, "Things")  # usage 2
    assert [t["@iot.id"] for t in things["value"]] == [ids["thing"]]
    assert "@iot.nextLink" not in things
    thing = await get(sta, f"Things({ids['thing']})")  # usage 3
    assert thing["name"] == "Wetterstation"
    assert await get(sta, f"Things({ids['thing']})/name") == {"name": "Wetterstation"}  # usage 4
    assert await get(sta, f"Datastreams({ids['datastream']})/unitOfMeasurement/symbol") == {"symbol": "degC"}
    raw = await sta.get(f"{ROOT}/Observations({obs})/phenomenonTime/$value")  # usage 5
    assert raw.status_code == 200
    assert raw.headers["content-type"].startswith("text/plain")
    assert raw.text == "2026-11-17T16:00:00Z"
    observations = await get(sta, f"Datastreams({ids['datastream']})/Observations")  # usage 6
    assert [o["@iot.id"] for o in observations["value"]] == [obs]
    stream = await get(sta, f"Observations({obs})/Datastream")  # to-one navigation: an entity
    assert stream["@iot.id"] == ids["datastream"]
    refs = await get(sta, f"Datastreams({ids['datastream']})/Observations/$ref")  # usage 7
    assert refs == {"value": [{"@iot.selfLink": f"{BASE}/Observations({obs})"}]}
    all_refs = await get(sta, "Things/$ref")
    assert all_refs["value"] == [{"@iot.selfLink": f"{BASE}/Things({ids['thing']})"}]
    foi = await get(sta, f"Datastreams({ids['datastream']})/Observations({obs})/FeatureOfInterest")  # usage 8
    assert foi["feature"]["type"] == "Point"
    nested = await get(sta, f"Datastreams({ids['datastream']})/Observations({obs})/result")
    assert nested == {"result": 21.5}
    deep = await get(sta, f"Things({ids['thing']})/Datastreams({ids['datastream']})/Sensor/name")
    assert deep == {"name": "DHT22"}


async def test_req_resource_path_null_property_is_204(sta: AsyncTestClient[Any]) -> None:
    """req/resource-path/resource-path-to-entities (usage 4): a null single-valued property answers 204."""
    ids = await _world(sta)
    response = await sta.get(f"{ROOT}/Observations({ids['observation']})/resultTime")
    assert response.status_code == 204
    assert response.content == b""
    value = await sta.get(f"{ROOT}/Observations({ids['observation']})/resultTime/$value")
    assert value.status_code == 204


async def test_req_request_data_status_code_404(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/status-code: nonexistent entities (also inside paths) answer 404 with a message."""
    ids = await _world(sta)
    for path in (
        "Things(9999)",
        "Things(9999)/Datastreams",
        "Things(9999)/name",
        f"Things({ids['thing']})/Datastreams(9999)",
        f"Datastreams({ids['datastream']})/Observations(9999)/FeatureOfInterest",
        "Observations(9999)/Datastream",
    ):
        response = await sta.get(f"{ROOT}/{path}")
        assert response.status_code == 404, (path, response.text)
        assert response.json()["message"], path


async def test_req_resource_path_entity_in_unrelated_navigation_is_404(sta: AsyncTestClient[Any]) -> None:
    """req/resource-path/resource-path-to-entities: an existing entity addressed through a parent it does not
    belong to is not found."""
    ids = await _world(sta)
    other = await full_thing(sta, "Zweite Station")
    response = await sta.get(f"{ROOT}/Things({other['thing']})/Datastreams({ids['datastream']})")
    assert response.status_code == 404


async def test_req_resource_path_unknown_property_is_400(sta: AsyncTestClient[Any]) -> None:
    """req/resource-path/resource-path-to-entities: a path to a property the entity does not have is rejected."""
    ids = await _world(sta)
    response = await sta.get(f"{ROOT}/Things({ids['thing']})/colour")
    assert response.status_code in (400, 404)
    assert response.json()["message"]
