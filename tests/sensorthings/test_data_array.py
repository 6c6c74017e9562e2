"""Data Array extension: CreateObservations in bulk and $resultFormat=dataArray (req/data-array/data-array)."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tests.sensorthings.conftest import ROOT, THING, create, get


async def datastream(sta: AsyncTestClient[Any]) -> int:
    thing = await create(sta, "Things", THING)
    return int((await get(sta, f"Things({thing})/Datastreams"))["value"][0]["@iot.id"])


async def test_create_observations_stores_rows_and_reports_bad_ones(sta: AsyncTestClient[Any]) -> None:
    ds = await datastream(sta)
    body = [
        {
            "Datastream": {"@iot.id": ds},
            "components": ["phenomenonTime", "result", "resultTime"],
            "dataArray@iot.count": 4,
            "dataArray": [
                ["2026-11-17T10:00:00Z", 1.5, "2026-11-17T10:00:05Z"],
                ["2026-11-17T10:15:00Z", 2.5, None],
                ["gestern", 3.5, None],
                ["2026-11-17T10:45:00Z", 4.5],
            ],
        }
    ]
    response = await sta.post(f"{ROOT}/CreateObservations", json=body)
    assert response.status_code == 201, response.text
    links = response.json()
    assert links[2:] == ["error", "error"]
    assert all(link.startswith(f"http://testserver.local{ROOT}/Observations(") for link in links[:2])
    stored = await get(sta, f"Datastreams({ds})/Observations?$orderby=phenomenonTime&$resultFormat=dataArray")
    block = stored["value"][0]
    assert block["Datastream@iot.navigationLink"] == f"http://testserver.local{ROOT}/Datastreams({ds})"
    assert block["components"] == ["id", "phenomenonTime", "result"]
    assert block["dataArray@iot.count"] == 2
    assert [row[1:] for row in block["dataArray"]] == [
        ["2026-11-17T10:00:00Z", 1.5],
        ["2026-11-17T10:15:00Z", 2.5],
    ]
    chosen = await get(
        sta, f"Datastreams({ds})/Observations?$resultFormat=dataArray&$select=result,resultTime"
    )
    assert chosen["value"][0]["components"] == ["result", "resultTime"]
    assert [1.5, "2026-11-17T10:00:05Z"] in chosen["value"][0]["dataArray"]


async def test_create_observations_refuses_malformed_requests(sta: AsyncTestClient[Any]) -> None:
    ds = await datastream(sta)
    for body, needle in [
        ({"Datastream": {"@iot.id": ds}}, "array"),
        ([{"components": ["result"], "dataArray": [[1]]}], "Datastream"),
        ([{"Datastream": {"@iot.id": ds}, "components": ["colour"], "dataArray": [[1]]}], "colour"),
        (
            [{"Datastream": {"@iot.id": 999}, "components": ["result"], "dataArray": [[1]]}],
            "Datastreams(999)",
        ),
    ]:
        response = await sta.post(f"{ROOT}/CreateObservations", json=body)
        assert response.status_code == 400, response.text
        assert needle in response.json()["message"]
    assert (await get(sta, f"Datastreams({ds})/Observations?$count=true"))["@iot.count"] == 0
