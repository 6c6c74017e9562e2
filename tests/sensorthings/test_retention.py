"""Each Datastream's retention period is enforced by a scheduled job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from stadtkern.core.clock import FrozenClock
from stadtkern.core.jobs.runner import JobRunner
from stadtkern.sensorthings.service import SensorThingsService
from tests.sensorthings.conftest import THING, create, get


async def test_retention_job_deletes_only_what_is_older_than_the_period(
    sta: AsyncTestClient[Any], sta_app: Litestar, clock: FrozenClock
) -> None:
    runtime = sta_app.state.runtime
    thing = await create(sta, "Things", THING)
    kept_thing = await create(sta, "Things", THING)
    short_thing = await create(sta, "Things", THING)
    ds = (await get(sta, f"Things({thing})/Datastreams"))["value"][0]["@iot.id"]
    forever = (await get(sta, f"Things({kept_thing})/Datastreams"))["value"][0]["@iot.id"]
    short = (await get(sta, f"Things({short_thing})/Datastreams"))["value"][0]["@iot.id"]
    for stream in (ds, forever, short):
        for day in (1, 20, 40):  # clock stands at 2026-11-17
            when = (clock.now() - timedelta(days=day)).isoformat()
            await create(sta, f"Datastreams({stream})/Observations", {"phenomenonTime": when, "result": day})
    service = SensorThingsService(runtime.sessions, clock, runtime.engine.dialect.name)
    await service.set_stream_policy(ds, access="public", retention_days=30)
    await service.set_stream_policy(short, access="public", retention_days=10)  # another period
    await JobRunner(runtime).run_until_idle()
    left = await get(sta, f"Datastreams({ds})/Observations?$orderby=result")
    assert [o["result"] for o in left["value"]] == [1, 20]
    left_short = await get(sta, f"Datastreams({short})/Observations")
    assert [o["result"] for o in left_short["value"]] == [1]
    untouched = await get(sta, f"Datastreams({forever})/Observations?$count=true")
    assert untouched["@iot.count"] == 3
