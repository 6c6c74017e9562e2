"""Helpers for the transparency and open-data tests: a small provisioned city and observations in it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from stadtkern.contracts import AssetType
from stadtkern.sensorthings import models as sta
from stadtkern.sensorthings.ingest import insert_columns
from stadtkern.twin import services
from stadtkern.twin.services import AssetRecord
from stadtkern.web.runtime import Runtime

# A tenth of the default demo: a few hundred assets, all types, the 12 hotspots and the demo households.
SCALE = 0.1


async def provision_small_city(runtime: Runtime, types: dict[str, AssetType]) -> list[AssetRecord]:
    async with runtime.sessions() as session, session.begin():
        await services.provision_city(session, runtime.city, types, now=runtime.clock.now(), scale=SCALE)
    async with runtime.sessions() as session:
        return await services.list_assets(session)


async def write(runtime: Runtime, datastream_id: int, rows: Sequence[tuple[datetime, float | int]]) -> None:
    """Store readings through the SensorThings ingest (as the simulator and CreateObservations do)."""
    async with runtime.sessions() as session, session.begin():
        await insert_columns(
            session,
            {
                "phenomenon_time": [t for t, _ in rows],
                "result_number": [float(v) for _, v in rows],
                "result_type": [sta.RESULT_INT if isinstance(v, int) else sta.RESULT_FLOAT for _, v in rows],
            },
            datastream_id=datastream_id,
            now=runtime.clock.now(),
        )
