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


async def test_clean_numeric_blocks_take_the_fast_path_with_the_same_result(
    sta: AsyncTestClient[Any],
) -> None:
    """A block of times and numbers goes straight to the driver; what is stored must not differ."""
    ds = await datastream(sta)
    rows = [[f"2026-11-17T1{h}:00:00Z", h * 1.5, f"2026-11-17T1{h}:00:01+01:00"] for h in range(5)]
    rows.append(["2026-11-17T15:30:00+01:00", 7, "2026-11-17T15:30:00Z"])
    body = [
        {
            "Datastream": {"@iot.id": ds},
            "components": ["phenomenonTime", "result", "resultTime"],
            "dataArray": rows,
        }
    ]
    response = await sta.post(f"{ROOT}/CreateObservations", json=body)
    assert response.status_code == 201
    assert len(response.json()) == 6
    assert "error" not in response.json()
    stored = await get(
        sta,
        f"Datastreams({ds})/Observations?$orderby=phenomenonTime&$select=phenomenonTime,result,resultTime",
    )
    values = stored["value"]
    assert values[0] == {
        "phenomenonTime": "2026-11-17T10:00:00Z",
        "result": 0.0,
        "resultTime": "2026-11-17T09:00:01Z",
    }
    assert values[-2]["result"] == 6.0
    # 15:30+01:00 is 14:30 UTC, the latest; an integer result keeps its type.
    assert {
        "phenomenonTime": "2026-11-17T14:30:00Z",
        "result": 7,
        "resultTime": "2026-11-17T15:30:00Z",
    } in values
    later = await get(
        sta, f"Datastreams({ds})/Observations?$filter=phenomenonTime gt 2026-11-17T14:00:00Z&$count=true"
    )
    assert later["@iot.count"] == 1
    stream = await get(sta, f"Datastreams({ds})")
    assert stream["phenomenonTime"] == "2026-11-17T10:00:00Z/2026-11-17T14:30:00Z"
    assert stream["observedArea"] == {"type": "Point", "coordinates": [6.7635, 51.4325]}
    latest = await get(sta, f"Datastreams({ds})/Observations?$orderby=phenomenonTime desc&$top=1")
    assert latest["value"][0]["result"] == 7
