"""MultiDatastream extension: ``req/multi-datastream/properties``, ``/relations`` and ``/constraints``."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tests.conformance.helpers import (
    COMPLEX,
    MEASUREMENT,
    ROOT,
    count,
    create,
    full_thing,
    get,
    observed_property,
    sensor,
    uom,
)

TRUTH = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_TruthObservation"


def mds(n: int = 2, **extra: Any) -> dict[str, Any]:
    return {
        "name": "Wetter",
        "description": "Temperatur und Wind",
        "observationType": COMPLEX,
        "unitOfMeasurements": [uom(f"u{i}") for i in range(n)],
        "multiObservationDataTypes": [MEASUREMENT] * n,
        **extra,
    }


async def _mds(sta: AsyncTestClient[Any]) -> dict[str, int]:
    ids = await full_thing(sta)
    ids["mds"] = await create(
        sta,
        "MultiDatastreams",
        mds(
            Thing={"@iot.id": ids["thing"]},
            Sensor={"@iot.id": ids["sensor"]},
            ObservedProperties=[
                {"@iot.id": ids["observed_property"]},
                observed_property("Windgeschwindigkeit"),
            ],
        ),
    )
    return ids


async def test_req_multi_datastream_properties(sta: AsyncTestClient[Any]) -> None:
    """req/multi-datastream/properties: name, description, unitOfMeasurements (array), observationType
    OM_ComplexObservation, multiObservationDataTypes (array), server-computed phenomenonTime; 201 + Location
    on create."""
    ids = await full_thing(sta)
    response = await sta.post(
        f"{ROOT}/MultiDatastreams",
        json=mds(
            Thing={"@iot.id": ids["thing"]},
            Sensor=sensor("Kombi"),
            ObservedProperties=[observed_property("A"), observed_property("B")],
            properties={"x": 1},
        ),
    )
    assert response.status_code == 201, response.text
    assert response.headers["location"].startswith(f"http://testserver.local{ROOT}/MultiDatastreams(")
    body = (await sta.get(response.headers["location"])).json()
    assert body["observationType"] == COMPLEX
    assert [u["symbol"] for u in body["unitOfMeasurements"]] == ["u0", "u1"]
    assert body["multiObservationDataTypes"] == [MEASUREMENT, MEASUREMENT]
    assert body["properties"] == {"x": 1}
    for nav in ("Thing", "Sensor", "ObservedProperties", "Observations"):
        assert body[f"{nav}@iot.navigationLink"].endswith(f"MultiDatastreams({body['@iot.id']})/{nav}")
    await create(
        sta,
        f"MultiDatastreams({body['@iot.id']})/Observations",
        {"phenomenonTime": "2026-11-17T10:00:00Z", "result": [1.5, 3]},
    )
    assert (await get(sta, f"MultiDatastreams({body['@iot.id']})"))["phenomenonTime"].startswith(
        "2026-11-17T10:00:00Z"
    )


async def test_req_multi_datastream_relations(sta: AsyncTestClient[Any]) -> None:
    """req/multi-datastream/relations: Thing, Sensor, ordered ObservedProperties and Observations, and the
    reverse links Things/Sensors/ObservedProperties(x)/MultiDatastreams and Observations(x)/MultiDatastream;
    $expand works on them."""
    ids = await _mds(sta)
    m = ids["mds"]
    assert (await get(sta, f"MultiDatastreams({m})/Thing"))["@iot.id"] == ids["thing"]
    assert (await get(sta, f"MultiDatastreams({m})/Sensor"))["@iot.id"] == ids["sensor"]
    props = await get(sta, f"MultiDatastreams({m})/ObservedProperties")
    assert [p["name"] for p in props["value"]] == ["Lufttemperatur", "Windgeschwindigkeit"]
    for path in (
        f"Things({ids['thing']})/MultiDatastreams",
        f"Sensors({ids['sensor']})/MultiDatastreams",
        f"ObservedProperties({ids['observed_property']})/MultiDatastreams",
    ):
        assert [x["@iot.id"] for x in (await get(sta, path))["value"]] == [m], path
    obs = await create(sta, f"MultiDatastreams({m})/Observations", {"result": [20.5, 3.25]})
    assert (await get(sta, f"Observations({obs})/MultiDatastream"))["@iot.id"] == m
    assert (await get(sta, f"Observations({obs})"))["result"] == [20.5, 3.25]
    expanded = await get(
        sta, f"MultiDatastreams({m})?$expand=ObservedProperties($select=name),Observations,Thing"
    )
    assert [p["name"] for p in expanded["ObservedProperties"]] == ["Lufttemperatur", "Windgeschwindigkeit"]
    assert [o["@iot.id"] for o in expanded["Observations"]] == [obs]
    assert expanded["Thing"]["@iot.id"] == ids["thing"]
    thing = await get(sta, f"Things({ids['thing']})")
    assert "MultiDatastreams@iot.navigationLink" in thing
    assert (await get(sta, f"Observations({obs})/FeatureOfInterest"))["feature"]["type"] == "Point"
    # the Observation can be created by linking instead of posting to the navigation collection
    linked = await create(sta, "Observations", {"result": [1, 2], "MultiDatastream": {"@iot.id": m}})
    filtered = await get(sta, f"Observations?$filter=MultiDatastream/id eq {m}&$orderby=id")
    assert [o["@iot.id"] for o in filtered["value"]] == [obs, linked]


async def test_req_multi_datastream_constraints_lengths(sta: AsyncTestClient[Any]) -> None:
    """req/multi-datastream/constraints: unitOfMeasurements, multiObservationDataTypes and ObservedProperties
    SHALL have the same size; otherwise 400 and nothing is created (no MultiDatastream, no Sensor)."""
    ids = await full_thing(sta)
    before = (
        await count(sta, "MultiDatastreams"),
        await count(sta, "Sensors"),
        await count(sta, "ObservedProperties"),
    )
    link = {"Thing": {"@iot.id": ids["thing"]}, "Sensor": sensor("neu")}
    two_props = [observed_property("A"), observed_property("B")]
    bad = [
        {**mds(2), "unitOfMeasurements": [uom()], **link, "ObservedProperties": two_props},
        {**mds(2), "multiObservationDataTypes": [MEASUREMENT], **link, "ObservedProperties": two_props},
        {**mds(3), **link, "ObservedProperties": two_props},
        {**mds(1), **link, "ObservedProperties": []},
        {**mds(1), **link},
        {**mds(1), "multiObservationDataTypes": "nope", **link, "ObservedProperties": two_props[:1]},
        {**mds(1), "unitOfMeasurements": uom(), **link, "ObservedProperties": two_props[:1]},
    ]
    for body in bad:
        response = await sta.post(f"{ROOT}/MultiDatastreams", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["message"]
    after = (
        await count(sta, "MultiDatastreams"),
        await count(sta, "Sensors"),
        await count(sta, "ObservedProperties"),
    )
    assert after == before


async def test_req_multi_datastream_constraints_observation_type(sta: AsyncTestClient[Any]) -> None:
    """req/multi-datastream/properties: observationType SHALL be OM_ComplexObservation (FROST: 400
    otherwise)."""
    ids = await full_thing(sta)
    response = await sta.post(
        f"{ROOT}/MultiDatastreams",
        json={
            **mds(1),
            "observationType": MEASUREMENT,
            "Thing": {"@iot.id": ids["thing"]},
            "Sensor": {"@iot.id": ids["sensor"]},
            "ObservedProperties": [{"@iot.id": ids["observed_property"]}],
        },
    )
    assert response.status_code == 400, response.text
    assert "OM_ComplexObservation" in response.json()["message"]


async def test_req_multi_datastream_constraints_result_array(sta: AsyncTestClient[Any]) -> None:
    """req/multi-datastream/constraints: an Observation of a MultiDatastream SHALL have an array result
    with one entry per ObservedProperty; an Observation links exactly one Datastream or MultiDatastream."""
    ids = await _mds(sta)
    m = ids["mds"]
    before = await count(sta, "Observations")
    for result in (5, "a,b", {"a": 1}, [1], [1, 2, 3], []):
        response = await sta.post(f"{ROOT}/MultiDatastreams({m})/Observations", json={"result": result})
        assert response.status_code == 400, (result, response.text)
        assert response.json()["message"]
    both = await sta.post(
        f"{ROOT}/Observations",
        json={
            "result": [1, 2],
            "MultiDatastream": {"@iot.id": m},
            "Datastream": {"@iot.id": ids["datastream"]},
        },
    )
    assert both.status_code == 400
    none = await sta.post(f"{ROOT}/Observations", json={"result": [1, 2]})
    assert none.status_code == 400
    assert await count(sta, "Observations") == before
    ok = await sta.post(f"{ROOT}/MultiDatastreams({m})/Observations", json={"result": [1, None]})
    assert ok.status_code == 201, ok.text


async def test_req_multi_datastream_update_and_delete(sta: AsyncTestClient[Any]) -> None:
    """req/multi-datastream/relations with req/create-update-delete: PATCH keeps the constraints, DELETE takes
    the Observations along, and deleting the Thing deletes its MultiDatastreams."""
    ids = await _mds(sta)
    m = ids["mds"]
    obs = await create(sta, f"MultiDatastreams({m})/Observations", {"result": [1, 2]})
    response = await sta.patch(f"{ROOT}/MultiDatastreams({m})", json={"description": "neu"})
    assert response.status_code == 200
    assert (await get(sta, f"MultiDatastreams({m})"))["description"] == "neu"
    assert (await sta.delete(f"{ROOT}/MultiDatastreams({m})")).status_code == 200
    await get(sta, f"MultiDatastreams({m})", status=404)
    await get(sta, f"Observations({obs})", status=404)
    await get(sta, f"ObservedProperties({ids['observed_property']})")
    again = await _mds(sta)
    assert (await sta.delete(f"{ROOT}/Things({again['thing']})")).status_code == 200
    await get(sta, f"MultiDatastreams({again['mds']})", status=404)


async def test_req_multi_datastream_constraints_patch_lengths(sta: AsyncTestClient[Any]) -> None:
    """req/multi-datastream/constraints: a PATCH that breaks the equal sizes (one unit for two
    ObservedProperties) is rejected with 400 and changes nothing."""
    ids = await _mds(sta)
    m = ids["mds"]
    response = await sta.patch(f"{ROOT}/MultiDatastreams({m})", json={"unitOfMeasurements": [uom()]})
    assert response.status_code == 400, response.text
    assert len((await get(sta, f"MultiDatastreams({m})"))["unitOfMeasurements"]) == 2
    types = await sta.patch(f"{ROOT}/MultiDatastreams({m})", json={"multiObservationDataTypes": [TRUTH] * 3})
    assert types.status_code == 400
