"""A re-sent observation with the same client id is stored once, on Datastreams marked for it."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from stadtkern.core.clock import FrozenClock
from stadtkern.sensorthings.service import SensorThingsService
from tests.sensorthings.conftest import ROOT, THING, create, get

OBSERVATION = {"@iot.id": "meter-7/2026-11-17T08:00", "phenomenonTime": "2026-11-17T08:00:00Z", "result": 4.2}


async def post_observation(client: AsyncTestClient[Any], ds: int, body: dict[str, Any]) -> int:
    response = await client.post(f"{ROOT}/Datastreams({ds})/Observations", json=body)
    assert response.status_code == 201, response.text
    return int(response.headers["location"].rsplit("(", 1)[1].rstrip(")"))


async def count(client: AsyncTestClient[Any], ds: int) -> int:
    return int((await get(client, f"Datastreams({ds})/Observations?$count=true&$top=0"))["@iot.count"])


async def test_a_resent_observation_is_stored_once(
    sta: AsyncTestClient[Any], sta_app: Litestar, clock: FrozenClock
) -> None:
    thing = await create(sta, "Things", THING)
    ds = (await get(sta, f"Things({thing})/Datastreams"))["value"][0]["@iot.id"]
    runtime = sta_app.state.runtime
    service = SensorThingsService(runtime.sessions, clock, runtime.engine.dialect.name)
    await service.set_stream_policy(ds, access="public", deduplicate=True)

    first = await post_observation(sta, ds, OBSERVATION)
    again = await post_observation(sta, ds, OBSERVATION)  # the gateway did not see the answer and re-sends
    assert again == first
    assert await count(sta, ds) == 1
    # Batches re-sent as a whole are deduplicated the same way.
    batch = [{"Datastream": {"@iot.id": ds}, "components": ["phenomenonTime", "result"], "dataArray": []}]
    assert (await sta.post(f"{ROOT}/CreateObservations", json=batch)).status_code == 201
    other = await post_observation(sta, ds, {**OBSERVATION, "@iot.id": "meter-7/2026-11-17T08:15"})
    assert other != first
    assert await count(sta, ds) == 2


async def test_without_the_mark_every_post_is_stored(sta: AsyncTestClient[Any]) -> None:
    thing = await create(sta, "Things", THING)
    ds = (await get(sta, f"Things({thing})/Datastreams"))["value"][0]["@iot.id"]
    await post_observation(sta, ds, OBSERVATION)
    await post_observation(sta, ds, OBSERVATION)
    assert await count(sta, ds) == 2


async def test_the_unique_key_exists_after_all_migrations(
    sta: AsyncTestClient[Any], sta_app: Litestar, db_kind: str
) -> None:
    """Guards the migrations: no module's migration may drop the key the deduplication relies on."""
    async with sta_app.state.runtime.engine.connect() as connection:
        if db_kind == "postgresql":
            query = "SELECT indexname FROM pg_indexes WHERE tablename = 'sta_observations'"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sta_observations'"
        names = set((await connection.execute(text(query))).scalars())
    assert "uq_sta_observations_client" in names
