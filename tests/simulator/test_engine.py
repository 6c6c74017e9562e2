"""The engine writes through the SensorThings ingest into a real database, never twice, and real time
continues where a backfill stopped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from stadtkern.core.clock import FrozenClock
from stadtkern.sensorthings import models as m
from stadtkern.sensorthings.keys import KeyGrant
from stadtkern.sensorthings.service import SensorThingsService
from stadtkern.simulator.engine import Target, generate, run
from stadtkern.traffic.simulation import TrafficCounters
from stadtkern.water.simulation import PressureSensors
from stadtkern.web.runtime import Runtime
from tests.simulator.support import FakeAsset, context

SYSTEM = KeyGrant(None, frozenset(), frozenset())
START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 10, 3, 5, 30, tzinfo=UTC)


def _thing(name: str, keys: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "description": "Simulierte Anlage",
        "Locations": [
            {
                "name": name,
                "description": "Standort",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [6.7623, 51.4344]},
            }
        ],
        "Datastreams": [
            {
                "name": f"{name} {key}",
                "description": key,
                "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                "unitOfMeasurement": {
                    "name": "Einheit",
                    "symbol": "1",
                    "definition": "http://unitsofmeasure.org",
                },
                "Sensor": {
                    "name": "Sim",
                    "description": "Simulator",
                    "encodingType": "text/html",
                    "metadata": "-",
                },
                "ObservedProperty": {"name": key, "definition": f"urn:stadtkern:{key}", "description": key},
            }
            for key in keys
        ],
    }


async def provisioned(runtime: Runtime, clock: FrozenClock) -> list[Target]:
    """Two assets with Datastreams created through the SensorThings service (as the twin does)."""
    service = SensorThingsService(runtime.sessions, clock, runtime.engine.dialect.name)
    made = []
    for code, generator, keys in [
        ("traffic_counter-100-0001", TrafficCounters(), ["vehicles"]),
        ("water_pressure_sensor-100-0001", PressureSensors(), ["pressure"]),
    ]:
        created = await service.create("Things", _thing(code, keys), grant=SYSTEM, base_url="http://x")
        async with runtime.sessions() as session:
            rows = (
                await session.execute(
                    select(m.DATASTREAMS.c.id, m.DATASTREAMS.c.description).where(
                        m.DATASTREAMS.c.thing_id == created.id
                    )
                )
            ).all()
        streams = {description: int(ident) for ident, description in rows}
        made.append(Target(FakeAsset(code, generator.asset_type, datastreams=streams), generator))
    return made


async def stored(runtime: Runtime) -> list[tuple[int, datetime, float]]:
    table = m.OBSERVATIONS
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(table.c.datastream_id, table.c.phenomenon_time, table.c.result_number).order_by(
                table.c.datastream_id, table.c.phenomenon_time
            )
        )
        return [(int(ds), t.astimezone(UTC), float(v)) for ds, t, v in rows.all()]


def expected(targets: list[Target], start: datetime, end: datetime) -> list[tuple[int, datetime, float]]:
    rows = [
        (block.datastream_id, t, float(v))
        for target in targets
        for block in generate(target, start, end, context())
        for t, v in zip(block.times, block.values, strict=True)
    ]
    return sorted(rows, key=lambda r: (r[0], r[1]))


async def test_backfill_writes_every_reading_once(sim_runtime: Runtime, clock: FrozenClock) -> None:
    targets = await provisioned(sim_runtime, clock)
    done: list[int] = []
    result = await run(
        sim_runtime.sessions,
        targets,
        START,
        END,
        context(),
        now=clock.now,
        window=timedelta(days=1),
        progress=done.append,
    )
    want = expected(targets, START, END)
    assert result.observations == len(want) > 400
    assert sum(done) == len(targets) * 3  # three windows per asset
    assert await stored(sim_runtime) == want
    # Run again: nothing new.
    again = await run(sim_runtime.sessions, targets, START, END, context(), now=clock.now)
    assert again.observations == 0
    assert again.skipped == len(want)
    assert await stored(sim_runtime) == want


async def test_an_interrupted_backfill_resumes_and_equals_one_run(
    sim_runtime: Runtime, clock: FrozenClock
) -> None:
    targets = await provisioned(sim_runtime, clock)
    middle = START + timedelta(hours=30, minutes=15)
    await run(sim_runtime.sessions, targets[:1], START, middle, context(), now=clock.now)  # stopped early
    await run(sim_runtime.sessions, targets, START, END, context(), now=clock.now, window=timedelta(hours=7))
    assert await stored(sim_runtime) == expected(targets, START, END)


async def test_a_stop_ends_the_run_after_the_batch_being_written(
    sim_runtime: Runtime, clock: FrozenClock
) -> None:
    targets = await provisioned(sim_runtime, clock)
    done: list[int] = []
    result = await run(
        sim_runtime.sessions,
        targets,
        START,
        END,
        context(),
        now=clock.now,
        window=END - START,
        per_batch=1,
        progress=done.append,
        stopping=lambda: len(done) >= 1,  # asked to stop while the first batch was written
    )
    first = expected(targets[:1], START, END)
    assert done == [1]
    assert result.observations == len(first)
    assert await stored(sim_runtime) == first  # that batch whole, nothing of the next


async def test_the_datastream_knows_its_latest_value(sim_runtime: Runtime, clock: FrozenClock) -> None:
    targets = await provisioned(sim_runtime, clock)
    await run(sim_runtime.sessions, targets, START, END, context(), now=clock.now)
    ds = targets[1].asset.datastreams["pressure"]
    async with sim_runtime.sessions() as session:
        latest = await session.scalar(
            select(m.LATEST.c.phenomenon_time).where(m.LATEST.c.datastream_id == ds)
        )
        end = await session.scalar(
            select(m.DATASTREAMS.c.phenomenon_time_end).where(m.DATASTREAMS.c.id == ds)
        )
        count = await session.scalar(select(func.count()).select_from(m.OBSERVATIONS))
    assert latest is not None
    assert latest.astimezone(UTC) == END - timedelta(minutes=15)
    assert end is not None
    assert end.astimezone(UTC) == END - timedelta(minutes=15)
    assert count == len(expected(targets, START, END))
