"""Stadtkern's extensions: aggregates per interval and the latest value of every Datastream."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tests.sensorthings.conftest import ROOT, THING, create, get


async def stream_with_values(sta: AsyncTestClient[Any]) -> int:
    thing = await create(sta, "Things", THING)
    ds = int((await get(sta, f"Things({thing})/Datastreams"))["value"][0]["@iot.id"])
    rows = []
    for hour in range(3):
        for quarter in range(4):
            rows.append([f"2026-11-17T{10 + hour:02d}:{quarter * 15:02d}:00Z", float(hour * 10 + quarter)])
    body = [{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"], "dataArray": rows}]
    assert (await sta.post(f"{ROOT}/CreateObservations", json=body)).status_code == 201
    return ds


async def test_hourly_aggregates_with_a_time_filter(sta: AsyncTestClient[Any]) -> None:
    ds = await stream_with_values(sta)
    answer = await get(sta, f"ext/Datastreams({ds})/aggregate?interval=PT1H&functions=avg,min,max,sum,count")
    assert answer["interval"] == "PT1H"
    assert [v["start"] for v in answer["value"]] == [
        "2026-11-17T10:00:00Z",
        "2026-11-17T11:00:00Z",
        "2026-11-17T12:00:00Z",
    ]
    first = answer["value"][0]
    assert (first["avg"], first["min"], first["max"], first["sum"], first["count"]) == (1.5, 0.0, 3.0, 6.0, 4)
    assert first["end"] == "2026-11-17T11:00:00Z"
    narrowed = await get(
        sta,
        f"ext/Datastreams({ds})/aggregate?interval=PT30M&functions=count&$filter=phenomenonTime ge 2026-11-17T11:00:00Z",
    )
    assert [v["count"] for v in narrowed["value"]] == [2, 2, 2, 2]
    daily = await get(sta, f"ext/Datastreams({ds})/aggregate?interval=P1D&functions=avg")
    assert daily["value"] == [{"start": "2026-11-17T00:00:00Z", "end": "2026-11-18T00:00:00Z", "avg": 11.5}]


async def test_aggregate_refuses_bad_parameters(sta: AsyncTestClient[Any]) -> None:
    ds = await stream_with_values(sta)
    for query, needle in [
        ("interval=P1M", "interval"),
        ("functions=median", "median"),
        ("$filter=result eq", "$filter"),
    ]:
        response = await sta.get(f"{ROOT}/ext/Datastreams({ds})/aggregate?{query}")
        assert response.status_code == 400, response.text
        assert needle in response.json()["message"]
    await get(sta, "ext/Datastreams(999)/aggregate", status=404)
    await get(sta, "ext/nonsense", status=400)


async def test_latest_value_of_each_datastream(sta: AsyncTestClient[Any]) -> None:
    ds = await stream_with_values(sta)
    second = await stream_with_values(sta)
    await create(
        sta, f"Datastreams({second})/Observations", {"phenomenonTime": "2026-11-18T00:00:00Z", "result": 99}
    )
    answer = await get(sta, "ext/latest")
    by_stream = {v["Datastream@iot.id"]: v for v in answer["value"]}
    assert by_stream[ds]["result"] == 23.0
    assert by_stream[ds]["phenomenonTime"] == "2026-11-17T12:45:00Z"
    assert by_stream[second]["result"] == 99
    only = await get(sta, f"ext/latest?datastreams={ds}")
    assert [v["Datastream@iot.id"] for v in only["value"]] == [ds]
    paged = await get(sta, "ext/latest?$top=1")
    assert len(paged["value"]) == 1
    assert "$skip=1" in paged["@iot.nextLink"]
