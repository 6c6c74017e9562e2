"""Background work of the energy module: keeping the demo day-ahead prices one day ahead.

Only where the app keeps the simulated city alive (``STADTKERN_SIMULATOR``): every hour the job writes
the demo prices from a year back to the end of tomorrow that are not stored yet (the first run fills the
year, later runs add the next day). A real installation imports SMARD's prices instead
(``stadtkern energy import-prices``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.contracts import JobKind
from stadtkern.core.jobs.context import JobContext
from stadtkern.db.engine import lock_for_writing
from stadtkern.energy import demo_prices, prices
from stadtkern.energy.tariffs import tariffs_for
from stadtkern.sensorthings import models as m

DEMO_PRICES = "energy.demo_prices"
DEMO_SEED = 1


async def top_up_demo_prices(session: AsyncSession, city_dir: Path, city: Any, now: datetime) -> int:
    """Write the missing demo prices of the demo range; returns how many were stored."""
    book = tariffs_for(city_dir)
    timezone = city.city.timezone
    start, end = demo_prices.demo_range(now, timezone)
    stream = await prices.price_stream(session, book.prices.bidding_zone)
    if stream is not None:
        newest = await session.scalar(
            select(func.max(m.OBSERVATIONS.c.phenomenon_time)).where(m.OBSERVATIONS.c.datastream_id == stream)
        )
        if newest is not None and newest >= start:
            # Continue after the newest stored period (the range before it was written by earlier runs).
            start = max(start, newest + timedelta(minutes=15))
    if start >= end:
        return 0
    rows = demo_prices.demo_prices(start, end, seed=DEMO_SEED, timezone=timezone)
    written = await prices.import_rows(session, book, rows, now=now, center=city.city.center)
    return written.stored


async def demo_prices_job(context: JobContext, payload: dict[str, Any]) -> None:
    rt = context.runtime
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        stored = await top_up_demo_prices(session, rt.settings.city_dir, rt.city, rt.clock.now())
    await context.progress(1, 1, f"{stored} demo prices stored")


JOB_KINDS = [JobKind(DEMO_PRICES, demo_prices_job, max_attempts=3, timeout=timedelta(minutes=5))]
