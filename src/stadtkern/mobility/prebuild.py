"""The timetable is built before anyone asks for it: in the background of every web process.

Building the timetable of a day takes seconds on a large feed (13 s on a VRR-size one), which no request
should pay. While the app runs, a task per process keeps the timetables warm (see ``journeys.Builder``):

* at start-up, the timetable of today, without delaying the start (requests that come before it is ready
  wait for that one build);
* from :data:`NEXT_DAY_FROM` local time on, the next day's as well, so that it is ready at midnight;
* again whenever the active feed or the realtime updates change (checked every :data:`CHECK_SECONDS`, and
  at once when the realtime job of this process has stored new data).

Registered through the ``stadtkern_lifespans`` hook (``plugin.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from stadtkern.db.engine import create_engine, session_factory
from stadtkern.mobility import journeys

if TYPE_CHECKING:
    from stadtkern.web.runtime import Runtime

log = logging.getLogger("stadtkern.mobility.timetable")

CHECK_SECONDS = 5.0
NEXT_DAY_FROM = time(23, 0)  # local time from which tomorrow's timetable is built too


def warm_days(now: datetime, zone: ZoneInfo) -> list[date]:
    """The service days whose timetables should be ready at ``now``: today, and tomorrow late at night."""
    local = now.astimezone(zone)
    days = [local.date()]
    if local.time() >= NEXT_DAY_FROM:
        days.append(local.date() + timedelta(days=1))
    return days


async def refresh(runtime: Runtime, builder: journeys.Builder) -> int:
    """Build every warm day whose timetable is missing or out of date; returns how many were built."""
    built = 0
    days = warm_days(runtime.clock.now(), builder.zone)
    journeys.forget_before(builder.engine_key, days[0])
    for day in days:
        if await builder.stale(day):
            started = asyncio.get_running_loop().time()
            tt = await builder.build(day)
            log.info(
                "timetable of %s built in the background in %.1f s (%s stop times)",
                day.isoformat(),
                asyncio.get_running_loop().time() - started,
                tt.n_stop_times,
            )
            built += 1
    return built


async def keep_warm(runtime: Runtime, builder: journeys.Builder, every: float | None = None) -> None:
    """Refresh now and then every ``every`` seconds (default :data:`CHECK_SECONDS`) or when woken."""
    while True:
        try:
            await refresh(runtime, builder)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be away for a moment: try again at the next check
            log.exception("building the timetable in the background failed; trying again")
        builder.wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(builder.wake.wait(), timeout=every or CHECK_SECONDS)


@contextlib.asynccontextmanager
async def lifespan(app: Any, runtime: Runtime) -> AsyncIterator[None]:
    """Keep the timetables of this process warm while the app runs (hook ``stadtkern_lifespans``)."""
    del app
    zone = ZoneInfo(runtime.city.city.timezone)
    # A small pool of its own: the builder's reads never wait for, or hold, a connection that requests need.
    engine = create_engine(runtime.settings.database_url, pool_size=2, max_overflow=2)
    builder = journeys.register_builder(runtime.engine, session_factory(engine), zone)
    task = asyncio.create_task(keep_warm(runtime, builder), name="stadtkern-mobility-timetable")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await builder.close()
        journeys.unregister_builder(builder)
        await engine.dispose()
