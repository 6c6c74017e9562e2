"""Real time on the twin's provisioned city: each quarter hour of city time writes what became due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from stadtkern.core.clock import FrozenClock
from stadtkern.db.engine import lock_for_writing
from stadtkern.sensorthings import models as m
from stadtkern.sensorthings.events import EntityEvent
from stadtkern.simulator.city import context_for, load_targets
from stadtkern.simulator.engine import Announcer
from stadtkern.simulator.realtime import RealTime
from stadtkern.twin.registry import asset_types
from stadtkern.twin.services import provision_city
from stadtkern.web.runtime import Runtime


async def provision(runtime: Runtime, clock: FrozenClock) -> None:
    async with runtime.sessions() as session:
        await lock_for_writing(session)
        await provision_city(session, runtime.city, asset_types(runtime.pm), now=clock.now(), scale=0.02)
        await session.commit()


async def observations(runtime: Runtime, datastream_ids: list[int] | None = None) -> int:
    query = select(func.count()).select_from(m.OBSERVATIONS)
    if datastream_ids is not None:
        query = query.where(m.OBSERVATIONS.c.datastream_id.in_(datastream_ids))
    async with runtime.sessions() as session:
        return int(await session.scalar(query) or 0)


async def test_ticks_write_what_is_due_and_nothing_twice(sim_runtime: Runtime, clock: FrozenClock) -> None:
    await provision(sim_runtime, clock)
    targets = await load_targets(sim_runtime.sessions, sim_runtime.pm)
    assert {t.asset.type_key for t in targets} >= {"street_light", "wifi_hotspot", "household_meter"}
    published: list[EntityEvent] = []
    simulation = RealTime(
        sim_runtime.sessions,
        sim_runtime.pm,
        context_for(sim_runtime.city, 1),
        clock,
        announcer=Announcer(published.extend, "http://testserver.local/sta/v1.1"),
    )

    first = await simulation.tick()
    assert first.observations > 1000  # the last day of every asset
    async with sim_runtime.sessions() as session:
        newest = await session.scalar(select(func.max(m.OBSERVATIONS.c.phenomenon_time)))
    assert newest is not None
    assert newest.astimezone(UTC) == clock.now()

    # The demo households got their year of history (the energy module's tariff check needs it).
    history = [t for t in targets if t.asset.properties.get("full_year_history")]
    assert history
    streams = [ds for t in history for ds in t.asset.datastreams.values()]
    assert await observations(sim_runtime, streams) > len(streams) * 34_000

    again = await simulation.tick()
    assert again.observations == 0

    clock.advance(timedelta(minutes=15))
    total = await observations(sim_runtime)
    step = await simulation.tick()
    assert 0 < step.observations <= sum(len(t.asset.datastreams) for t in targets)
    # The catch-up of the first tick is not announced; the readings of later ticks are, one event each.
    assert len(published) == step.observations
    streams_of_city = {ds for t in targets for ds in t.asset.datastreams.values()}
    assert {e.set_name for e in published} == {"Observations"}
    assert all(e.stream is not None and e.stream.id in streams_of_city for e in published)
    assert {e.json["phenomenonTime"] for e in published} == {"2026-11-17T09:15:00Z"}
    assert await observations(sim_runtime) == total + step.observations
    async with sim_runtime.sessions() as session:
        newest = await session.scalar(select(func.max(m.OBSERVATIONS.c.phenomenon_time)))
    assert newest is not None
    assert newest.astimezone(UTC) == datetime(2026, 11, 17, 9, 15, tzinfo=UTC)
