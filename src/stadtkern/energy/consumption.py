"""A household's consumption: its year read from SensorThings, sums per local period, the comparison with
the standard load profile, and its peak times. Gaps stay gaps: a period lacking readings shows what was
measured and how many quarter hours are missing; nothing is estimated into the household's figures.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.energy.timegrid import QUARTER_SECONDS, local_starts, quarter_ends, to_datetime64
from stadtkern.sensorthings import models as m

PROFILES = ("H25", "H0")


@dataclass(frozen=True)
class Series:
    """Quarter hours ``ends`` (UTC, datetime64[s]) and kWh per quarter hour (NaN: no reading)."""

    ends: np.ndarray
    kwh: np.ndarray

    @property
    def measured(self) -> int:
        return int(np.count_nonzero(~np.isnan(self.kwh)))

    @property
    def coverage(self) -> float:
        return self.measured / len(self.kwh) if len(self.kwh) else 0.0


async def read_series(session: AsyncSession, datastream_id: int, start: datetime, end: datetime) -> Series:
    """The meter's quarter hours ending in ``(start, end]`` from the SensorThings store (Wh -> kWh).

    Reads the observation columns directly (one indexed range scan): callers check first that the reader
    may see the Datastream (its owner, see activation.meter_of)."""
    ends = quarter_ends(start, end)
    kwh = np.full(len(ends), np.nan)
    rows = (
        await session.execute(
            select(m.OBSERVATIONS.c.phenomenon_time, m.OBSERVATIONS.c.result_number).where(
                m.OBSERVATIONS.c.datastream_id == datastream_id,
                m.OBSERVATIONS.c.phenomenon_time > start,
                m.OBSERVATIONS.c.phenomenon_time <= end,
            )
        )
    ).all()
    if rows:
        base = int(to_datetime64(start).astype("int64"))
        seconds = np.fromiter((int(t.timestamp()) for t, _ in rows), dtype=np.int64, count=len(rows))
        values = np.fromiter((np.nan if v is None else v for _, v in rows), dtype=float, count=len(rows))
        index = (seconds - base) // QUARTER_SECONDS - 1
        ok = (index >= 0) & (index < len(ends)) & ((seconds - base) % QUARTER_SECONDS == 0)
        kwh[index[ok]] = values[ok] / 1000.0
    return Series(ends, kwh)


def last_twelve_months(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    """From local midnight a year before today to local midnight today (UTC)."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    try:
        first = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        first = today.replace(year=today.year - 1, day=28)
    return _midnight(first, zone), _midnight(today, zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


# ---- periods ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    label: str
    short: str  # for chart axes
    start: datetime  # UTC
    kwh: float  # measured only
    missing: int  # quarter hours without a reading
    slots: int
    profile_kwh: float | None = None

    @property
    def complete(self) -> bool:
        return self.missing == 0

    @property
    def future(self) -> bool:
        """Nothing of it has passed yet (no reading could exist)."""
        return self.slots == 0

    @property
    def empty(self) -> bool:
        return self.missing == self.slots


def group_keys(ends: np.ndarray, timezone: str, by: str) -> np.ndarray:
    """A key per quarter hour: its local day (``day``), month (``month``) or hour of the day (``hour``)."""
    units = {"day": "datetime64[D]", "month": "datetime64[M]", "quarter": "datetime64[m]"}
    if by not in units:
        raise ValueError(by)
    keys: np.ndarray = local_starts(ends, timezone).to_numpy().astype(units[by])
    return keys


def buckets(
    series: Series, timezone: str, by: str, profile: np.ndarray | None = None, until: datetime | None = None
) -> list[Bucket]:
    """Sums per local period (``quarter``, ``day`` or ``month``), with missing quarter hours counted.
    Quarter hours ending after ``until`` (now) are not missing, just not there yet: ``slots`` counts only
    the quarter hours that have passed."""
    keys = group_keys(series.ends, timezone, by)
    unique, index = np.unique(keys, return_inverse=True)
    measured = np.nan_to_num(series.kwh, nan=0.0)
    past = series.ends <= to_datetime64(until) if until is not None else np.ones(len(series.ends), dtype=bool)
    sums = np.bincount(index, weights=measured, minlength=len(unique))
    missing = np.bincount(index, weights=(np.isnan(series.kwh) & past).astype(float), minlength=len(unique))
    slots = np.bincount(index, weights=past.astype(float), minlength=len(unique)).astype(np.int64)
    prof = np.bincount(index, weights=profile, minlength=len(unique)) if profile is not None else None
    firsts = np.zeros(len(unique), dtype=np.int64)
    firsts[index[::-1]] = np.arange(len(index))[::-1]
    out = []
    for i, key in enumerate(unique):
        start = (series.ends[firsts[i]] - np.timedelta64(QUARTER_SECONDS, "s")).item().replace(tzinfo=UTC)
        out.append(
            Bucket(
                _label(key, by),
                _short(key, by),
                start,
                float(sums[i]),
                int(missing[i]),
                int(slots[i]),
                float(prof[i]) if prof is not None else None,
            )
        )
    return out


def _label(key: np.datetime64, by: str) -> str:
    moment = pd.Timestamp(key)
    if by == "month":
        return f"{moment.month:02d}/{moment.year}"
    if by == "day":
        return f"{moment.day:02d}.{moment.month:02d}.{moment.year}"
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _short(key: np.datetime64, by: str) -> str:
    moment = pd.Timestamp(key)
    if by == "month":
        return f"{moment.month:02d}/{moment.year % 100:02d}"
    if by == "day":
        return f"{moment.day:02d}.{moment.month:02d}."
    return f"{moment.hour:02d}:{moment.minute:02d}"


def period_range(view: str, day: date, timezone: str) -> tuple[datetime, datetime, str]:
    """Start, end (UTC) and grouping of a view: ``tag`` (quarter hours), ``woche`` (days of the ISO week),
    ``monat`` (days), ``jahr`` (months of the calendar year)."""
    zone = ZoneInfo(timezone)
    if view == "tag":
        return _midnight(day, zone), _midnight(day + timedelta(days=1), zone), "quarter"
    if view == "woche":
        monday = day - timedelta(days=day.weekday())
        return _midnight(monday, zone), _midnight(monday + timedelta(days=7), zone), "day"
    if view == "monat":
        first = day.replace(day=1)
        days = calendar.monthrange(day.year, day.month)[1]
        return _midnight(first, zone), _midnight(first + timedelta(days=days), zone), "day"
    if view == "jahr":
        return _midnight(date(day.year, 1, 1), zone), _midnight(date(day.year + 1, 1, 1), zone), "month"
    raise ValueError(view)


# ---- the standard load profile ----------------------------------------------------------------------


def profile_shares(ends: np.ndarray, timezone: str, name: str) -> np.ndarray:
    """The BDEW profile's share of its year for each quarter hour (by local wall-clock time, as demandlib
    counts: the repeated hour in October counts twice, the skipped one in March not at all)."""
    from stadtkern.energy.simulation import yearly_profile  # loads demandlib on use

    local = local_starts(ends, timezone)
    index = (
        (np.asarray(local.day_of_year) - 1) * 96 + np.asarray(local.hour) * 4 + np.asarray(local.minute) // 15
    )
    years = np.asarray(local.year)
    out = np.empty(len(ends))
    for year in np.unique(years).tolist():
        profile = yearly_profile(name, int(year))
        chosen = years == year
        out[chosen] = profile[np.clip(index[chosen], 0, len(profile) - 1)]
    return out


def standard_household(year_series: Series, timezone: str, name: str) -> np.ndarray:
    """kWh per quarter hour of a household on the standard profile with the same yearly consumption.

    The yearly consumption is the measured total, scaled up by the share of quarter hours measured (the
    only estimate here, and only for the comparison's size; the household's own figures are never filled).
    """
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}")
    shares = profile_shares(year_series.ends, timezone, name)
    annual = float(np.nansum(year_series.kwh)) / max(year_series.coverage, 1e-9)
    result: np.ndarray = annual * shares / shares.sum()
    return result


@dataclass(frozen=True)
class Peaks:
    # Average kWh per local hour of the day (0..23), the household and the profile.
    by_hour: list[float]
    profile_by_hour: list[float]
    top_hours: list[int]
    peak_kw: float
    peak_at: datetime | None  # end of the highest quarter hour (UTC)


def peaks(series: Series, profile: np.ndarray, timezone: str) -> Peaks:
    local = local_starts(series.ends, timezone)
    hour = np.asarray(local.hour)
    measured = ~np.isnan(series.kwh)
    own = np.bincount(hour[measured], weights=series.kwh[measured], minlength=24)
    counts = np.bincount(hour[measured], minlength=24)
    mine = np.divide(own, counts, out=np.zeros(24), where=counts > 0) * 4  # kWh per hour
    prof = (
        np.bincount(hour, weights=profile, minlength=24) / np.maximum(np.bincount(hour, minlength=24), 1) * 4
    )
    top = [int(h) for h in np.argsort(-mine)[:3]]
    if measured.any():
        best = int(np.nanargmax(series.kwh))
        peak_kw = float(series.kwh[best]) * 4
        peak_at: datetime | None = series.ends[best].item().replace(tzinfo=UTC)
    else:
        peak_kw, peak_at = 0.0, None
    return Peaks([float(v) for v in mine], [float(v) for v in prof], top, peak_kw, peak_at)
