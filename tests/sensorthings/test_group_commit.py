"""Single observations arriving together are stored by group commit: every one acknowledged is stored once,
and the Datastream's time range, observedArea and latest value come out as if they had come one by one.
On PostgreSQL the usual group takes the one-statement path (pg_group_commit); the second test checks that
it stores exactly what the general path stores."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from stadtkern.core.clock import FrozenClock
from stadtkern.db.engine import lock_for_writing
from stadtkern.sensorthings import models as m
from stadtkern.sensorthings import pg_group_commit
from stadtkern.sensorthings.ingest import ObservationInput, store_observations
from stadtkern.sensorthings.keys import create_key
from stadtkern.sensorthings.service import SensorThingsService
from tests.conftest import make_settings
from tests.sensorthings.conftest import ROOT, THING, create, get
from tests.support.database import loop_safe_app

START = datetime(2026, 11, 17, 8, tzinfo=UTC)


def _stamp(minutes: int) -> str:
    return (START + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


async def test_concurrent_single_posts_are_each_stored_once_with_range_and_latest(
    sta: AsyncTestClient[Any], sta_app: Litestar, db_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    thing = await create(sta, "Things", THING)
    ds = (await get(sta, f"Things({thing})/Datastreams"))["value"][0]["@iot.id"]
    # The first observation makes the Thing's generated feature (general path on both databases).
    await create(sta, f"Datastreams({ds})/Observations", {"phenomenonTime": _stamp(0), "result": 0})
    one_statement: list[int] = []
    real_store = pg_group_commit.PlainWriter.store

    async def counting(*args: Any, **kwargs: Any) -> Any:
        inserted = await real_store(*args, **kwargs)
        if inserted is not None:
            one_statement.append(len(inserted.ids))
        return inserted

    monkeypatch.setattr(pg_group_commit.PlainWriter, "store", counting)
    # Out of order on purpose: the newest (minute 60) is neither first nor last.
    minutes = [(7 * i) % 61 for i in range(1, 61)]

    async def post(minute: int) -> Any:
        return await sta.post(
            f"{ROOT}/Datastreams({ds})/Observations",
            json={"phenomenonTime": _stamp(minute), "result": minute * 1.5, "resultTime": _stamp(minute + 1)},
        )

    missing = sta.post(
        f"{ROOT}/Datastreams(999999)/Observations", json={"phenomenonTime": _stamp(3), "result": 1}
    )
    responses = await asyncio.gather(missing, *(post(minute) for minute in minutes))
    assert responses[0].status_code == 404, responses[0].text
    assert "Datastreams(999999) does not exist" in responses[0].json()["message"]
    assert all(r.status_code == 201 for r in responses[1:]), [
        r.text for r in responses if r.status_code != 201
    ]
    ids = [int(r.headers["location"].rsplit("(", 1)[1].rstrip(")")) for r in responses[1:]]
    assert len(set(ids)) == len(minutes)
    for ident, minute in zip(ids, minutes, strict=True):
        stored = await get(sta, f"Observations({ident})")
        assert stored["phenomenonTime"] == _stamp(minute)
        assert stored["result"] == minute * 1.5
    assert (await get(sta, f"Datastreams({ds})/Observations?$count=true&$top=0"))["@iot.count"] == 61
    stream = await get(sta, f"Datastreams({ds})")
    assert stream["phenomenonTime"] == f"{_stamp(0)}/{_stamp(60)}"
    assert stream["resultTime"] == f"{_stamp(2)}/{_stamp(61)}"  # the first one had no resultTime
    assert stream["observedArea"] == {"type": "Point", "coordinates": [6.7635, 51.4325]}
    latest = (await get(sta, f"ext/latest?datastreams={ds}"))["value"][0]
    assert latest["result"] == 90.0
    assert latest["phenomenonTime"] == _stamp(60)
    if db_kind == "postgresql":
        assert sum(one_statement) == len(minutes)  # all of them went through the one-statement path
    else:
        assert one_statement == []  # SQLite has no such path


async def test_one_statement_path_stores_what_the_general_path_stores(
    sta: AsyncTestClient[Any], sta_app: Litestar, db_kind: str
) -> None:
    if db_kind != "postgresql":
        pytest.skip("the one-statement group commit exists only on PostgreSQL")
    engine = sta_app.state.runtime.engine
    sessions = sta_app.state.runtime.sessions
    streams = []
    for name in ("general", "one statement"):
        thing = await create(sta, "Things", {**THING, "name": name})
        ds = (await get(sta, f"Things({thing})/Datastreams"))["value"][0]["@iot.id"]
        await create(sta, f"Datastreams({ds})/Observations", {"phenomenonTime": _stamp(0), "result": 1})
        streams.append(ds)
    items = [
        ObservationInput(START + timedelta(minutes=5), None, 2.5, result_time=START + timedelta(minutes=6)),
        ObservationInput(START + timedelta(minutes=9), START + timedelta(minutes=10), "text"),
        ObservationInput(START - timedelta(minutes=1), None, {"a": [1, 2]}, parameters={"p": 1}),
        ObservationInput(START + timedelta(minutes=9), None, True, result_quality={"q": "ok"}),
    ]
    async with sessions() as session, session.begin():
        await lock_for_writing(session)
        general = await store_observations(session, items, datastream_id=streams[0], now=START)
    async with pg_group_commit.PlainWriter.connect(engine) as writer:
        fast = await writer.store(await writer.stream(streams[1]), items)
    assert fast is not None
    # Each Thing has its own generated feature; everything else is the same.
    features = (
        {row["feature_of_interest_id"] for row in fast.rows},
        {r["feature_of_interest_id"] for r in general.rows},
    )
    assert len(features[0]) == len(features[1]) == 1
    assert features[0] != features[1]
    same = {"datastream_id": streams[1], "feature_of_interest_id": fast.rows[0]["feature_of_interest_id"]}
    assert fast.rows == [{**row, **same} for row in general.rows]

    compared = [
        c for c in m.OBSERVATIONS.c if c.name not in ("id", "datastream_id", "feature_of_interest_id")
    ]
    async with sessions() as session:

        async def observations(ds: int) -> list[tuple[Any, ...]]:
            result = await session.execute(
                select(*compared).where(m.OBSERVATIONS.c.datastream_id == ds).order_by(m.OBSERVATIONS.c.id)
            )
            return [tuple(row) for row in result]

        assert await observations(streams[1]) == await observations(streams[0])
        ranges = [
            c
            for c in m.DATASTREAMS.c
            if c.name.startswith(("phenomenon_time", "result_time")) or c.name == "observed_area"
        ]
        rows = [
            tuple((await session.execute(select(*ranges).where(m.DATASTREAMS.c.id == ds))).one())
            for ds in streams
        ]
        assert rows[0] == rows[1]
        latest = [
            (await session.execute(select(m.LATEST).where(m.LATEST.c.datastream_id == ds))).mappings().one()
            for ds in streams
        ]
    # Both keep the newest by phenomenonTime; of the two at minute 9 the one stored last (higher id).
    assert latest[0]["observation_id"] == general.ids[3]
    assert latest[1]["observation_id"] == fast.ids[3]
    assert latest[1]["result_type"] == m.RESULT_BOOL
    assert {k: v for k, v in latest[0].items() if k not in ("datastream_id", "observation_id")} == {
        k: v for k, v in latest[1].items() if k not in ("datastream_id", "observation_id")
    }


async def test_one_statement_path_leaves_unusual_groups_to_the_general_path(
    sta: AsyncTestClient[Any], sta_app: Litestar, db_kind: str
) -> None:
    if db_kind != "postgresql":
        pytest.skip("the one-statement group commit exists only on PostgreSQL")
    engine = sta_app.state.runtime.engine
    thing = await create(sta, "Things", THING)
    ds = (await get(sta, f"Things({thing})/Datastreams"))["value"][0]["@iot.id"]
    plain = [ObservationInput(START, None, 1.0)]

    async def store(items: list[ObservationInput]) -> Any:
        async with pg_group_commit.PlainWriter.connect(engine) as writer:
            return await writer.store(await writer.stream(ds), items)

    # No generated feature yet: the general path makes it.
    assert await store(plain) is None
    await create(sta, f"Datastreams({ds})/Observations", {"phenomenonTime": _stamp(0), "result": 1})
    feature = (await get(sta, f"Datastreams({ds})/Observations?$expand=FeatureOfInterest"))["value"][0]
    own_feature = [
        ObservationInput(START, None, 1.0, feature_of_interest_id=feature["FeatureOfInterest"]["@iot.id"])
    ]
    assert await store(own_feature) is None
    runtime = sta_app.state.runtime
    service = SensorThingsService(runtime.sessions, runtime.clock, runtime.engine.dialect.name)
    await service.set_stream_policy(ds, access="public", deduplicate=True)
    assert await store(plain) is None


async def test_a_scoped_key_is_checked_per_observation_inside_a_batch(
    db_url: str, data_dir: Path, clock: FrozenClock
) -> None:
    settings = make_settings(db_url, data_dir)  # keys required
    app = loop_safe_app(settings, clock)
    runtime = app.state.runtime
    async with runtime.sessions() as session:
        _admin, admin_token = await create_key(
            session, name="Leitstelle", secret_key=settings.secret_key, now=clock.now()
        )
        await session.commit()
    admin = {"Authorization": f"Bearer {admin_token}"}
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        streams = []
        for name in ("own", "foreign"):
            created = await client.post(f"{ROOT}/Things", json={**THING, "name": name}, headers=admin)
            thing = int(created.headers["location"].rsplit("(", 1)[1].rstrip(")"))
            ds = (await client.get(f"{ROOT}/Things({thing})/Datastreams")).json()["value"][0]["@iot.id"]
            first = {"phenomenonTime": _stamp(0), "result": 0}
            assert (
                await client.post(f"{ROOT}/Datastreams({ds})/Observations", json=first, headers=admin)
            ).is_success
            streams.append((thing, ds))
        async with runtime.sessions() as session:
            _key, gateway = await create_key(
                session,
                name="Gateway",
                secret_key=settings.secret_key,
                now=clock.now(),
                things=[streams[0][0]],
            )
            await session.commit()
        scoped = {"Authorization": f"Bearer {gateway}"}

        def post(ds: int, minute: int) -> Any:
            body = {"phenomenonTime": _stamp(minute), "result": minute}
            return client.post(f"{ROOT}/Datastreams({ds})/Observations", json=body, headers=scoped)

        responses = await asyncio.gather(*(post(streams[i % 2][1], i + 1) for i in range(20)))
        assert [r.status_code for r in responses] == [201, 403] * 10
        assert all(f"Datastreams({streams[1][1]})" in r.json()["message"] for r in responses[1::2])
        counts = [
            (await client.get(f"{ROOT}/Datastreams({ds})/Observations?$count=true&$top=0")).json()[
                "@iot.count"
            ]
            for _thing, ds in streams
        ]
        assert counts == [11, 1]
    await runtime.engine.dispose()


async def test_one_statement_path_and_general_transactions_do_not_deadlock(
    sta: AsyncTestClient[Any], sta_app: Litestar, db_kind: str
) -> None:
    """Both take the stream's row lock before the latest value's; in the other order, a one-statement
    batch and a general transaction (an MQTT batch, CreateObservations) on one stream deadlocked."""
    if db_kind != "postgresql":
        pytest.skip("the one-statement group commit exists only on PostgreSQL")
    runtime = sta_app.state.runtime
    thing = await create(sta, "Things", THING)
    ds = (await get(sta, f"Things({thing})/Datastreams"))["value"][0]["@iot.id"]
    await create(sta, f"Datastreams({ds})/Observations", {"phenomenonTime": _stamp(0), "result": 0})

    async def general(minute: int) -> None:
        async with runtime.sessions() as session, session.begin():
            item = ObservationInput(START + timedelta(minutes=minute), None, 1.0)
            await store_observations(session, [item], datastream_id=ds, now=START)

    async def one_statement(minute: int) -> None:
        async with pg_group_commit.PlainWriter.connect(runtime.engine) as writer:
            item = ObservationInput(START + timedelta(minutes=minute), None, 2.0)
            assert await writer.store(await writer.stream(ds), [item]) is not None

    for minute in range(1, 41):
        await asyncio.gather(general(minute), one_statement(minute), one_statement(minute + 100))
    assert (await get(sta, f"Datastreams({ds})/Observations?$count=true&$top=0"))["@iot.count"] == 121
