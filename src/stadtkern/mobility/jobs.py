"""Background jobs of the timetable: polling GTFS-Realtime TripUpdates.

With ``STADTKERN_MOBILITY_REALTIME_URL`` set, the job ``mobility.realtime`` runs every
``STADTKERN_MOBILITY_REALTIME_INTERVAL`` seconds (default 30) on the job queue, so exactly one process
polls however many workers run. A failure never fails the job: it is logged and the last good data stays
(see ``realtime.poll``); the next run tries again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from stadtkern.config import Settings
from stadtkern.contracts import JobKind, PeriodicJob
from stadtkern.core.jobs.context import JobContext
from stadtkern.mobility import journeys, realtime

log = logging.getLogger("stadtkern.mobility.realtime")

URL_SETTING = "MOBILITY_REALTIME_URL"
INTERVAL_SETTING = "MOBILITY_REALTIME_INTERVAL"
MAX_AGE_SETTING = "MOBILITY_REALTIME_MAX_AGE"
DEFAULT_INTERVAL = 30
DEFAULT_MAX_AGE = 300
POLL = "mobility.realtime"


@dataclass(frozen=True)
class RealtimeConfig:
    url: str | None
    interval: timedelta
    max_age: timedelta


def _seconds(settings: Settings, name: str, default: int, minimum: int) -> int:
    raw = settings.module_settings.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        log.error("STADTKERN_%s=%r is not a whole number of seconds; using %s", name, raw, default)
        return default
    if value < minimum:
        log.error("STADTKERN_%s=%s is below %s seconds; using %s", name, value, minimum, minimum)
        return minimum
    return value


def config(settings: Settings) -> RealtimeConfig:
    url = (settings.module_settings.get(URL_SETTING) or "").strip() or None
    return RealtimeConfig(
        url,
        timedelta(seconds=_seconds(settings, INTERVAL_SETTING, DEFAULT_INTERVAL, 1)),
        timedelta(seconds=_seconds(settings, MAX_AGE_SETTING, DEFAULT_MAX_AGE, 1)),
    )


async def poll_realtime(context: JobContext, payload: dict[str, Any]) -> None:
    rt = context.runtime
    wanted = config(rt.settings)
    if wanted.url is None:
        return
    result = await realtime.poll(rt.sessions, wanted.url, rt.clock, max_age=wanted.max_age)
    if result is not None and result.changed:
        journeys.wake_builders()  # this process's timetables: rebuild now, not at the next check


JOB_KINDS = [JobKind(POLL, poll_realtime, max_attempts=1, timeout=timedelta(minutes=2))]


def periodic_jobs(settings: Settings) -> list[PeriodicJob]:
    wanted = config(settings)
    return [] if wanted.url is None else [PeriodicJob(POLL, every=wanted.interval)]
