"""Create-Update-Delete: ``req/create-update-delete/...`` (create-entity, link-to-existing-entities,
deep-insert, deep-insert-status-code, historical-location-auto-creation, update-entity, update-entity-put,
delete-entity)."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tests.conformance.helpers import (
    GEOJSON,
    ROOT,
    count,
    create,
    datastream,
    full_thing,
    get,
    location,
    observed_property,
    sensor,
    thing,
)

BASE = f"http://testserver.local{ROOT}"
SETS = [
    "Things",
    "Locations",
    "HistoricalLocations",
    "Datastreams",
    "Sensors",
    "ObservedProperties",
    "Observations",
    "FeaturesOfInterest",
]


async def _counts(sta: AsyncTestClient[Any]) -> dict[str, int]:
    return {name: await count(sta, name) for name in SETS}


async def test_req_create_update_delete_create_entity_201_location(sta: AsyncTestClient[Any]) -> None:
    """req/create-update-delete/create-entity: POST to a collection answers 201 Created with a Location
    header holding the new entity's selfLink, for every entity type."""
    bodies: list[tuple[str, dict[str, Any]]] = [
        ("Things", thing()),
        ("Locations", location("Rathaus", 6.76, 51.43)),
        ("Sensors", sensor()),
        ("ObservedProperties", observed_property()),
        (
            "FeaturesOfInterest",
            {
                "name": "Messpunkt",
                "description": "am Rathaus",
                "encodingType": GEOJSON,
                "feature": {"type": "Point", "coordinates": [6.76, 51.43]},
            },
        ),
    ]
    ids: dict[str, int] = {}
    for entity_set, body in bodies:
        response = await sta.post(f"{ROOT}/{entity_set}", json=body)
        assert response.status_code == 201, (entity_set, response.text)
        location_header = response.headers["location"]
        assert location_header.startswith(f"{BASE}/{entity_set}(")
        created = (await sta.get(location_header)).json()
        assert created["@iot.selfLink"] == location_header
        assert created["name"] == body["name"]
        ids[entity_set] = created["@iot.id"]
    ds = await create(
        sta,
        "Datastreams",
        datastream(
            Thing={"@iot.id": ids["Things"]},
            Sensor={"@iot.id": ids["Sensors"]},
            ObservedProperty={"@iot.id": ids["ObservedProperties"]},
        ),
    )
    response = await sta.post(
        f"{ROOT}/Observations",
        json={
            "result": 1,
            "phenomenonTime": "2026-11-17T10:00:00Z",
            "Datastream": {"@iot.id": ds},
            "FeatureOfInterest": {"@iot.id": ids["FeaturesOfInterest"]},
        },
    )
    assert response.status_code == 201
    assert response.headers["location"].startswith(f"{BASE}/Observations(")
    hl = await sta.post(
        f"{ROOT}/HistoricalLocations",
        json={"time": "2026-01-01T00:00:00Z", "Thing": {"@iot.id": ids["Things"]}},
    )
    assert hl.status_code == 201, hl.text  # historical-location-manual-creation (FROST)


async def test_req_create_update_delete_create_entity_via_navigation(sta: AsyncTestClient[Any]) -> None:
    """req/create-update-delete/create-entity: POSTing to a navigation collection links the new entity
    (Things(x)/Datastreams, Datastreams(x)/Observations, Things(x)/Locations)."""
    ids = await full_thing(sta)
    ds = await create(
        sta,
        f"Things({ids['thing']})/Datastreams",
        datastream(
            "Zweiter",
            Sensor={"@iot.id": ids["sensor"]},
            ObservedProperty={"@iot.id": ids["observed_property"]},
        ),
    )
    assert (await get(sta, f"Datastreams({ds})/Thing"))["@iot.id"] == ids["thing"]
    obs = await create(sta, f"Datastreams({ds})/Observations", {"result": "text"})
    assert (await get(sta, f"Observations({obs})/Datastream"))["@iot.id"] == ds
    loc = await create(sta, f"Things({ids['thing']})/Locations", location("Neu", 7.0, 51.0))
    assert ids["thing"] in [t["@iot.id"] for t in (await get(sta, f"Locations({loc})/Things"))["value"]]


async def test_req_create_update_delete_create_entity_integrity(sta: AsyncTestClient[Any]) -> None:
    """req/create-update-delete/create-entity: missing mandatory properties and missing mandatory links
    (a Datastream without Thing/Sensor/ObservedProperty, an Observation without Datastream) are 400 and
    create nothing."""
    ids = await full_thing(sta)
    before = await _counts(sta)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("Things", {"description": "ohne Namen"}),
        ("Locations", {"name": "x", "description": "y", "encodingType": GEOJSON}),
        ("Sensors", {"name": "x", "description": "y", "encodingType": "application/pdf"}),
        ("ObservedProperties", {"name": "x", "description": "y"}),
        (
            "Datastreams",
            datastream(
                Sensor={"@iot.id": ids["sensor"]}, ObservedProperty={"@iot.id": ids["observed_property"]}
            ),
        ),
        (
            "Datastreams",
            datastream(
                Thing={"@iot.id": ids["thing"]}, ObservedProperty={"@iot.id": ids["observed_property"]}
            ),
        ),
        ("Datastreams", datastream(Thing={"@iot.id": ids["thing"]}, Sensor={"@iot.id": ids["sensor"]})),
        ("Observations", {"result": 1, "phenomenonTime": "2026-11-17T10:00:00Z"}),
        (
            "Observations",
            {"phenomenonTime": "2026-11-17T10:00:00Z", "Datastream": {"@iot.id": ids["datastream"]}},
        ),
        ("HistoricalLocations", {"time": "2026-01-01T00:00:00Z"}),
        ("Things", {"name": 5, "description": "kein Text"}),
        (
            "Observations",
            {"result": 1, "phenomenonTime": "gestern", "Datastream": {"@iot.id": ids["datastream"]}},
        ),
    ]
    for entity_set, body in cases:
        response = await sta.post(f"{ROOT}/{entity_set}", json=body)
        assert response.status_code == 400, (entity_set, body, response.text)
        assert response.json()["message"], body
    assert await _counts(sta) == before


async def test_req_create_update_delete_create_entity_result_time_null(sta: AsyncTestClient[Any]) -> None:
    """req/create-update-delete/create-entity (special case #2): a missing resultTime is stored as null;
    a missing phenomenonTime becomes the server time."""
    ids = await full_thing(sta)
    obs = await create(sta, f"Datastreams({ids['datastream']})/Observations", {"result": 7})
    body = await get(sta, f"Observations({obs})")
    assert body["resultTime"] is None
    assert body["phenomenonTime"]


async def test_req_create_update_delete_link_to_existing_entities(sta: AsyncTestClient[Any]) -> None:
    """req/create-update-delete/link-to-existing-entities: ``{"@iot.id": x}`` links to-one and to-many;
    a nested object carrying @iot.id plus other members is a link (its other members are ignored, as
    frost-sta-client sends them); an unknown id is 400."""
    ids = await full_thing(sta)
    before = await _counts(sta)
    thing_id = await create(sta, "Things", thing("Zweites Ding", Locations=[{"@iot.id": ids["location"]}]))
    ds = await create(
        sta,
        "Datastreams",
        datastream(
            "Gelinkt",
            Thing={"@iot.id": thing_id, "name": "ignoriert"},
            Sensor={"@iot.id": ids["sensor"], "name": "ignoriert", "description": "x"},
            ObservedProperty={"@iot.id": ids["observed_property"]},
        ),
    )
    after = await _counts(sta)
    assert after["Sensors"] == before["Sensors"]
    assert after["Locations"] == before["Locations"]
    assert (await get(sta, f"Datastreams({ds})/Sensor"))["name"] == "DHT22"
    assert [loc["@iot.id"] for loc in (await get(sta, f"Things({thing_id})/Locations"))["value"]] == [
        ids["location"]
    ]
    obs = await create(
        sta,
        "Observations",
        {
            "result": 3,
            "Datastream": {"@iot.id": ds, "name": "Gelinkt", "unitOfMeasurement": {"name": "x"}},
        },
    )
    assert (await get(sta, f"Observations({obs})/Datastream"))["@iot.id"] == ds
    for body in (
        {"result": 1, "Datastream": {"@iot.id": 987654}},
        {"result": 1, "Datastream": {"@iot.id": ds}, "FeatureOfInterest": {"@iot.id": 987654}},
    ):
        response = await sta.post(f"{ROOT}/Observations", json=body)
        assert response.status_code == 400, body
        assert "987654" in response.json()["message"]


async def test_req_create_update_delete_deep_insert(sta: AsyncTestClient[Any]) -> None:
    """req/create-update-delete/deep-insert and deep-insert-status-code: nested entities at any depth are
    created and related; the answer is 201 with the Location of the top entity."""
    before = await _counts(sta)
    response = await sta.post(
        f"{ROOT}/Things",
        json=thing(
            "Tief",
            Locations=[location("Ort A", 6.7, 51.4)],
            Datastreams=[
                datastream(
                    "D1",
                    Sensor=sensor("S1"),
                    ObservedProperty=observed_property("P1"),
                    Observations=[
                        {"result": 1, "phenomenonTime": "2026-11-17T10:00:00Z"},
                        {
                            "result": 2,
                            "phenomenonTime": "2026-11-17T10:05:00Z",
                            "FeatureOfInterest": {
                                "name": "F",
                                "description": "eigener",
                                "encodingType": GEOJSON,
                                "feature": {"type": "Point", "coordinates": [1, 2]},
                            },
                        },
                    ],
                )
            ],
        ),
    )
    assert response.status_code == 201, response.text
    assert response.headers["location"].startswith(f"{BASE}/Things(")
    after = await _counts(sta)
    grown = {name: after[name] - before[name] for name in SETS}
    assert grown == {
        "Things": 1,
        "Locations": 1,
        "HistoricalLocations": 1,
        "Datastreams": 1,
        "Sensors": 1,
        "ObservedProperties": 1,
        "Observations": 2,
        "FeaturesOfInterest": 2,  # one given inline, one generated from the Location
    }
    created = (
        await sta.get(response.headers["location"] + "?$expand=Datastreams/Observations/FeatureOfInterest")
    ).json()
    features = sorted(o["FeatureOfInterest"]["name"] for o in created["Datastreams"][0]["Observations"])
    assert "F" in features
    # Observation deep insert with a new Datastream inside (posted to Observations)
    obs = await sta.post(
        f"{ROOT}/Observations",
        json={
            "result": 5,
            "Datastream": datastream(
                "D2",
                Thing={"@iot.id": created["@iot.id"]},
                Sensor=sensor("S2"),
                ObservedProperty={
                    "@iot.id": (await get(sta, "ObservedProperties?$filter=name eq 'P1'"))["value"][0][
                        "@iot.id"
                    ]
                },
            ),
        },
    )
    assert obs.status_code == 201, obs.text


async def test_req_create_update_delete_deep_insert_failure_creates_nothing(
    sta: AsyncTestClient[Any],
) -> None:
    """req/create-update-delete/deep-insert: if any nested entity fails (deep inside), the service SHALL
    NOT create any of the entities; the answer is 400."""
    before = await _counts(sta)
    bad_bodies = [
        thing(
            "Kaputt",
            Locations=[location("Ort", 6.7, 51.4)],
            Datastreams=[
                datastream("ok", Sensor=sensor(), ObservedProperty=observed_property()),
                datastream("ohne Sensor", ObservedProperty=observed_property("P2")),
            ],
        ),
        thing(
            "Kaputt 2",
            Datastreams=[
                datastream(
                    "D",
                    Sensor=sensor(),
                    ObservedProperty=observed_property(),
                    Observations=[{"result": 1}, {"phenomenonTime": "2026-11-17T10:00:00Z"}],
                )
            ],
        ),
        thing("Kaputt 3", Locations=[location("gut", 1, 2), {"name": "ohne Geometrie", "description": "d"}]),
        thing(
            "Kaputt 4",
            Datastreams=[datastream(Sensor={"@iot.id": 424242}, ObservedProperty=observed_property())],
        ),
    ]
    for body in bad_bodies:
        response = await sta.post(f"{ROOT}/Things", json=body)
        assert response.status_code == 400, (body["name"], response.text)
        assert response.json()["message"]
    assert await _counts(sta) == before


async def test_req_create_update_delete_foi_auto_creation_and_reuse(sta: AsyncTestClient[Any]) -> None:
    """req/create-update-delete/create-entity (special case #1): an Observation without FeatureOfInterest gets
    one made from the Thing's Location; later Observations reuse it; a new Location gives a new FoI;
    without any Location the request is 400."""
    ids = await full_thing(sta)
    first = await create(sta, f"Datastreams({ids['datastream']})/Observations", {"result": 1})
    second = await create(sta, "Observations", {"result": 2, "Datastream": {"@iot.id": ids["datastream"]}})
    foi_a = await get(sta, f"Observations({first})/FeatureOfInterest")
    foi_b = await get(sta, f"Observations({second})/FeatureOfInterest")
    assert foi_a["@iot.id"] == foi_b["@iot.id"]
    assert foi_a["feature"] == {"type": "Point", "coordinates": [6.76, 51.43]}
    assert await count(sta, "FeaturesOfInterest") == 1
    # the Thing moves: the next Observation is at the new place
    moved = await create(sta, "Locations", location("Neuer Ort", 7.1, 51.6))
    patched = await sta.patch(f"{ROOT}/Things({ids['thing']})", json={"Locations": [{"@iot.id": moved}]})
    assert patched.status_code == 200
    third = await create(sta, f"Datastreams({ids['datastream']})/Observations", {"result": 3})
    foi_c = await get(sta, f"Observations({third})/FeatureOfInterest")
    assert foi_c["feature"]["coordinates"] == [7.1, 51.6]
    assert foi_c["@iot.id"] != foi_a["@iot.id"]
    # a Thing without Location: no FoI can be made
    lonely = await create(
        sta,
        "Things",
        thing(
            "Ohne Ort",
            Datastreams=[
                datastream(
                    Sensor={"@iot.id": ids["sensor"]}, ObservedProperty={"@iot.id": ids["observed_property"]}
                )
            ],
        ),
    )
    lonely_ds = (await get(sta, f"Things({lonely})/Datastreams"))["value"][0]["@iot.id"]
    response = await sta.post(f"{ROOT}/Datastreams({lonely_ds})/Observations", json={"result": 1})
    assert response.status_code == 400
    assert response.json()["message"]


async def test_req_create_update_delete_historical_location_auto_creation(sta: AsyncTestClient[Any]) -> None:
    """req/create-update-delete/historical-location-auto-creation: POSTing a Thing with Locations, POSTing a
    Location under Things(x)/Locations and PATCHing a Thing's Locations each add a HistoricalLocation that
    links the Thing to its current Locations."""
    ids = await full_thing(sta)
    history = await get(sta, f"Things({ids['thing']})/HistoricalLocations?$expand=Locations")
    assert len(history["value"]) == 1
    assert [loc["@iot.id"] for loc in history["value"][0]["Locations"]] == [ids["location"]]
    assert history["value"][0]["time"]
    await create(sta, f"Things({ids['thing']})/Locations", location("Zweiter Ort", 7.0, 51.0))
    assert (await get(sta, f"Things({ids['thing']})/HistoricalLocations?$count=true"))["@iot.count"] == 2
    new_location = await create(sta, "Locations", location("Dritter Ort", 7.2, 51.2))
    assert (await get(sta, f"Things({ids['thing']})/HistoricalLocations?$count=true"))["@iot.count"] == 2
    patched = await sta.patch(
        f"{ROOT}/Things({ids['thing']})", json={"Locations": [{"@iot.id": new_location}]}
    )
    assert patched.status_code == 200, patched.text
    history = await get(sta, f"Things({ids['thing']})/HistoricalLocations?$expand=Locations&$count=true")
    assert history["@iot.count"] == 3
    latest = max(history["value"], key=lambda h: h["@iot.id"])
    assert [loc["@iot.id"] for loc in latest["Locations"]] == [new_location]
    assert (await get(sta, f"HistoricalLocations({latest['@iot.id']})/Thing"))["@iot.id"] == ids["thing"]
    assert new_location in [
        h["@iot.id"] for h in (await get(sta, f"HistoricalLocations({latest['@iot.id']})/Locations"))["value"]
    ]
    # a PATCH that does not touch Locations records nothing
    await sta.patch(f"{ROOT}/Things({ids['thing']})", json={"description": "still"})
    assert (await get(sta, f"Things({ids['thing']})/HistoricalLocations?$count=true"))["@iot.count"] == 3


async def test_req_create_update_delete_update_entity_patch(sta: AsyncTestClient[Any]) -> None:
    """req/create-update-delete/update-entity: PATCH merges (given properties replaced, others kept),
    answers 200, ignores @iot.id in the body, replaces single-valued navigation links; an inline new
    entity is 400; a nonexistent entity is 404."""
    ids = await full_thing(sta)
    response = await sta.patch(
        f"{ROOT}/Things({ids['thing']})",
        json={"@iot.id": ids["thing"], "description": "neu", "properties": {"a": 1}},
    )
    assert response.status_code == 200, response.text
    body = await get(sta, f"Things({ids['thing']})")
    assert (body["name"], body["description"], body["properties"]) == ("Wetterstation", "neu", {"a": 1})
    other_sensor = await create(sta, "Sensors", sensor("BME280"))
    response = await sta.patch(
        f"{ROOT}/Datastreams({ids['datastream']})",
        json={
            "Sensor": {"@iot.id": other_sensor},
            "unitOfMeasurement": {"name": "K", "symbol": "K", "definition": "u"},
        },
    )
    assert response.status_code == 200, response.text
    assert (await get(sta, f"Datastreams({ids['datastream']})/Sensor"))["@iot.id"] == other_sensor
    assert (await get(sta, f"Datastreams({ids['datastream']})"))["unitOfMeasurement"]["symbol"] == "K"
    obs = await create(
        sta,
        f"Datastreams({ids['datastream']})/Observations",
        {"result": 1, "phenomenonTime": "2026-11-17T10:00:00Z"},
    )
    response = await sta.patch(
        f"{ROOT}/Observations({obs})", json={"result": 2, "resultTime": "2026-11-17T10:01:00Z"}
    )
    assert response.status_code == 200
    patched = await get(sta, f"Observations({obs})")
    assert (patched["result"], patched["resultTime"], patched["phenomenonTime"]) == (
        2,
        "2026-11-17T10:01:00Z",
        "2026-11-17T10:00:00Z",
    )
    inline = await sta.patch(f"{ROOT}/Datastreams({ids['datastream']})", json={"Sensor": sensor("inline")})
    assert inline.status_code == 400
    assert inline.json()["message"]
    for path in ("Things(99999)", "Observations(99999)", "Sensors(99999)"):
        missing = await sta.patch(f"{ROOT}/{path}", json={"description": "x"})
        assert missing.status_code == 404, path
        assert missing.json()["message"]
    bad = await sta.patch(f"{ROOT}/Things({ids['thing']})", json={"name": None})
    assert bad.status_code == 400


async def test_req_create_update_delete_update_entity_put(sta: AsyncTestClient[Any]) -> None:
    """req/create-update-delete/update-entity-put (FROST): PUT replaces all structural properties (omitted
    optional ones become null), answers 200; omitting a mandatory property is 400 and changes nothing."""
    ids = await full_thing(sta)
    await sta.patch(f"{ROOT}/Things({ids['thing']})", json={"properties": {"a": 1}})
    response = await sta.put(f"{ROOT}/Things({ids['thing']})", json={"name": "Ersetzt", "description": "neu"})
    assert response.status_code == 200
    body = await get(sta, f"Things({ids['thing']})?$select=name,description,properties")
    assert body == {"name": "Ersetzt", "description": "neu", "properties": None}
    missing = await sta.put(f"{ROOT}/Things({ids['thing']})", json={"name": "nur Name"})
    assert missing.status_code == 400
    assert "description" in missing.json()["message"]
    assert (await get(sta, f"Things({ids['thing']})"))["name"] == "Ersetzt"
    not_there = await sta.put(f"{ROOT}/Things(99999)", json={"name": "a", "description": "b"})
    assert not_there.status_code == 404


async def test_req_create_update_delete_delete_entity_cascades(sta: AsyncTestClient[Any]) -> None:
    """req/create-update-delete/delete-entity: DELETE answers 200, the entity is gone (404), and the
    cascades of Table 25 hold (Thing -> Datastreams -> Observations; Location -> HistoricalLocations links;
    Sensor/ObservedProperty -> Datastreams; FeatureOfInterest -> Observations); deleting again is 404."""
    a = await full_thing(sta, "A")
    b = await full_thing(sta, "B")
    obs_a = await create(sta, f"Datastreams({a['datastream']})/Observations", {"result": 1})
    obs_b = await create(sta, f"Datastreams({b['datastream']})/Observations", {"result": 2})
    foi_b = (await get(sta, f"Observations({obs_b})/FeatureOfInterest"))["@iot.id"]
    response = await sta.delete(f"{ROOT}/Things({a['thing']})")
    assert response.status_code == 200
    await get(sta, f"Things({a['thing']})", status=404)
    await get(sta, f"Datastreams({a['datastream']})", status=404)
    await get(sta, f"Observations({obs_a})", status=404)
    assert (await get(sta, f"HistoricalLocations?$filter=Thing/id eq {a['thing']}"))["value"] == []
    await get(sta, f"Locations({a['location']})")  # Locations survive their Thing
    await get(sta, f"Sensors({a['sensor']})")
    again = await sta.delete(f"{ROOT}/Things({a['thing']})")
    assert again.status_code == 404
    assert again.json()["message"]
    # Location -> its HistoricalLocation links; the Thing stays
    assert (await sta.delete(f"{ROOT}/Locations({b['location']})")).status_code == 200
    await get(sta, f"Things({b['thing']})")
    assert (await get(sta, f"Things({b['thing']})/Locations"))["value"] == []
    # FeatureOfInterest -> Observations
    assert (await sta.delete(f"{ROOT}/FeaturesOfInterest({foi_b})")).status_code == 200
    await get(sta, f"Observations({obs_b})", status=404)
    await get(sta, f"Datastreams({b['datastream']})")
    # Sensor -> Datastreams
    obs_b2 = await create(
        sta,
        "Observations",
        {
            "result": 3,
            "Datastream": {"@iot.id": b["datastream"]},
            "FeatureOfInterest": {
                "name": "f",
                "description": "d",
                "encodingType": GEOJSON,
                "feature": {"type": "Point", "coordinates": [0, 0]},
            },
        },
    )
    assert (await sta.delete(f"{ROOT}/Sensors({b['sensor']})")).status_code == 200
    await get(sta, f"Datastreams({b['datastream']})", status=404)
    await get(sta, f"Observations({obs_b2})", status=404)
    # ObservedProperty -> Datastreams
    c = await full_thing(sta, "C")
    assert (await sta.delete(f"{ROOT}/ObservedProperties({c['observed_property']})")).status_code == 200
    await get(sta, f"Datastreams({c['datastream']})", status=404)
    # Observation and HistoricalLocation: nothing else goes
    obs_c = await create(
        sta,
        "Observations",
        {"result": 1, "Datastream": {"@iot.id": (await full_thing(sta, "D"))["datastream"]}},
    )
    ds_c = (await get(sta, f"Observations({obs_c})/Datastream"))["@iot.id"]
    assert (await sta.delete(f"{ROOT}/Observations({obs_c})")).status_code == 200
    await get(sta, f"Datastreams({ds_c})")
    for path in ("Observations(99999)", "Sensors(99999)", "HistoricalLocations(99999)"):
        response = await sta.delete(f"{ROOT}/{path}")
        assert response.status_code == 404, path


async def test_req_create_update_delete_delete_historical_location(sta: AsyncTestClient[Any]) -> None:
    """req/create-update-delete/delete-entity: a HistoricalLocation can be deleted; Thing and Location stay."""
    ids = await full_thing(sta)
    hl = (await get(sta, f"Things({ids['thing']})/HistoricalLocations"))["value"][0]["@iot.id"]
    assert (await sta.delete(f"{ROOT}/HistoricalLocations({hl})")).status_code == 200
    await get(sta, f"HistoricalLocations({hl})", status=404)
    await get(sta, f"Things({ids['thing']})")
    await get(sta, f"Locations({ids['location']})")
