"""Energy fixtures: a small provisioned demo city (with the three demo households) and meter readings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar

from stadtkern.db.engine import lock_for_writing
from stadtkern.energy.activation import Meter, find_meter
from stadtkern.modules import plugin_manager
from stadtkern.sensorthings import models as m
from stadtkern.sensorthings.ingest import insert_columns
from stadtkern.twin.registry import asset_types
from stadtkern.twin.services import provision_city
from stadtkern.web.runtime import Runtime

DEMO_1, DEMO_2, DEMO_3 = "household-meter-demo-1", "household-meter-demo-2", "household-meter-demo-3"


@pytest.fixture
async def rt(app: Litestar) -> AsyncIterator[Runtime]:
    runtime: Runtime = app.state.runtime
    yield runtime
    await runtime.engine.dispose()


@pytest.fixture
async def city(rt: Runtime) -> Runtime:
    """The demo city at a small scale: the demo household meters always exist (no owners yet)."""
    types = asset_types(plugin_manager(rt.city.modules.enabled))
    async with rt.sessions() as session, session.begin():
        await provision_city(session, rt.city, types, now=rt.clock.now(), scale=0.01)
    return rt


async def meter(rt: Runtime, code: str) -> Meter:
    async with rt.sessions() as session:
        found = await find_meter(session, code)
    assert found is not None
    return found


async def write_readings(
    rt: Runtime, datastream_id: int, ends: Sequence[datetime], wh: Sequence[float]
) -> None:
    """Meter readings (Wh per quarter hour, stamped with the quarter hour's end) through the ingest."""
    columns: dict[str, list[Any]] = {
        "phenomenon_time": list(ends),
        "result_number": [float(v) for v in wh],
        "result_type": [m.RESULT_FLOAT] * len(ends),
    }
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        await insert_columns(session, columns, datastream_id=datastream_id, now=rt.clock.now())


def quarter_hours(start: datetime, end: datetime) -> list[datetime]:
    out = []
    moment = start + timedelta(minutes=15)
    while moment <= end:
        out.append(moment)
        moment += timedelta(minutes=15)
    return out
