"""JSON batch requests (req/batch-request): references to earlier results, atomicity groups."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tests.sensorthings.conftest import ROOT, THING, get


async def test_batch_with_references_and_an_atomicity_group(sta: AsyncTestClient[Any]) -> None:
    sensor = THING["Datastreams"][0]["Sensor"]
    prop = THING["Datastreams"][0]["ObservedProperty"]
    stream = {k: v for k, v in THING["Datastreams"][0].items() if k not in ("Sensor", "ObservedProperty")}
    batch = {
        "requests": [
            {
                "id": "t",
                "atomicityGroup": "a",
                "method": "post",
                "url": "Things",
                "body": {"name": "Pegel", "description": "Rhein"},
            },
            {"id": "s", "atomicityGroup": "a", "method": "post", "url": "Sensors", "body": sensor},
            {"id": "p", "atomicityGroup": "a", "method": "post", "url": "ObservedProperties", "body": prop},
            {"id": "l", "method": "get", "url": "Things?$filter=name eq 'Pegel'&$count=true"},
        ]
    }
    response = await sta.post(f"{ROOT}/$batch", json=batch)
    assert response.status_code == 200, response.text
    answers = {r["id"]: r for r in response.json()["responses"]}
    assert [answers[k]["status"] for k in "tsp"] == [201, 201, 201]
    assert answers["l"]["body"]["@iot.count"] == 1
    thing_path = answers["t"]["location"].removeprefix(f"http://testserver.local{ROOT}/")
    sensor_id = int(answers["s"]["location"].rsplit("(", 1)[1].rstrip(")"))
    prop_id = int(answers["p"]["location"].rsplit("(", 1)[1].rstrip(")"))
    second = {
        "requests": [
            {
                "id": "d",
                "method": "post",
                "url": f"{thing_path}/Datastreams",
                "body": {
                    **stream,
                    "Sensor": {"@iot.id": sensor_id},
                    "ObservedProperty": {"@iot.id": prop_id},
                },
            },
            {
                "id": "o",
                "method": "post",
                "url": "$d/Observations",
                "body": {
                    "result": 7.25,
                    "FeatureOfInterest": {
                        "name": "Pegel Ruhrort",
                        "description": "Messstelle",
                        "encodingType": "application/geo+json",
                        "feature": {"type": "Point", "coordinates": [6.73, 51.45]},
                    },
                },
            },
        ]
    }
    answers2 = {r["id"]: r for r in (await sta.post(f"{ROOT}/$batch", json=second)).json()["responses"]}
    assert (answers2["d"]["status"], answers2["o"]["status"]) == (201, 201)
    observations = await get(sta, f"{thing_path}/Datastreams?$expand=Observations")
    assert observations["value"][0]["Observations"][0]["result"] == 7.25


async def test_a_failure_undoes_the_whole_atomicity_group(sta: AsyncTestClient[Any]) -> None:
    batch = {
        "requests": [
            {
                "id": "1",
                "atomicityGroup": "g",
                "method": "post",
                "url": "Things",
                "body": {"name": "A", "description": "a"},
            },
            {
                "id": "2",
                "atomicityGroup": "g",
                "method": "post",
                "url": "Things",
                "body": {"description": "ohne Namen"},
            },
            {"id": "3", "method": "post", "url": "Things", "body": {"name": "C", "description": "c"}},
        ]
    }
    responses = {r["id"]: r for r in (await sta.post(f"{ROOT}/$batch", json=batch)).json()["responses"]}
    assert responses["2"]["status"] == 400
    assert "name" in responses["2"]["body"]["message"]
    assert responses["1"]["status"] == 424
    assert responses["3"]["status"] == 201
    names = [t["name"] for t in (await get(sta, "Things"))["value"]]
    assert names == ["C"]


async def test_malformed_batches_get_400(sta: AsyncTestClient[Any]) -> None:
    for body in ({"requests": "no"}, {"requests": [{"method": "fly", "url": "Things"}]}, [1, 2]):
        response = await sta.post(f"{ROOT}/$batch", json=body)
        assert response.status_code == 400
        assert response.json()["message"]
