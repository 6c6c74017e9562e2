"""The simulator's clock grid: quarter hours of UTC days, with what the city's local time says about them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import numpy as np

STEP = timedelta(minutes=15)
SLOTS = 96  # quarter hours in a UTC day


@dataclass(frozen=True)
class Day:
    """One UTC day of 96 quarter hours and the local calendar at each of them."""

    day: date
    times: tuple[datetime, ...]
    hour: np.ndarray  # local hour of day as a float (0 <= h < 24)
    weekday: np.ndarray  # local weekday, 0 = Monday; public holidays count as Sunday (6)
    day_of_year: np.ndarray  # local day of the year (1..366)
    local_midnight: np.ndarray  # True at the slot where a local day begins
    year: np.ndarray  # local calendar year


@lru_cache(maxsize=8)
def _holidays(year: int, subdivision: str) -> holidays.HolidayBase:
    return holidays.country_holidays("DE", subdiv=subdivision or None, years=year)


@lru_cache(maxsize=2048)
def day_grid(day: date, zone: ZoneInfo, subdivision: str = "NW") -> Day:
    """The grid of a UTC day in the city's time zone (cached: every asset shares it)."""
    first = datetime.combine(day, time(0), tzinfo=UTC)
    times = tuple(first + i * STEP for i in range(SLOTS))
    local = [t.astimezone(zone) for t in times]
    hour = np.array([t.hour + t.minute / 60.0 for t in local])
    weekday = np.array(
        [6 if t.date() in _holidays(t.year, subdivision) else t.weekday() for t in local], dtype=np.int64
    )
    day_of_year = np.array([t.timetuple().tm_yday for t in local], dtype=np.int64)
    midnight = np.array([t.hour == 0 and t.minute == 0 for t in local])
    year = np.array([t.year for t in local], dtype=np.int64)
    return Day(day, times, hour, weekday, day_of_year, midnight, year)


def utc_days(start: datetime, end: datetime) -> list[date]:
    """The UTC days that overlap ``[start, end)``."""
    first = start.astimezone(UTC).date()
    last = (end.astimezone(UTC) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)] if end > start else []


def floor_step(moment: datetime) -> datetime:
    """The quarter hour at or before ``moment`` (UTC)."""
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)
