"""The 15-minute grid of meter data as numpy columns, and its local days.

A meter reading is the energy of one quarter hour, stamped with the end of that quarter hour (UTC). A
quarter hour belongs to the local day (Europe/Berlin for Duisburg) its start falls on, so the day clocks go
forward has 92 quarter hours and the day they go back 100.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

QUARTER = np.timedelta64(15, "m")
QUARTER_SECONDS = 900
EPOCH = date(1970, 1, 1)


def to_datetime64(moment: datetime) -> np.datetime64:
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return np.datetime64(moment.astimezone(UTC).replace(tzinfo=None), "s")


def quarter_ends(start: datetime, end: datetime) -> np.ndarray:
    """Ends of the quarter hours in ``[start, end)`` (both on the grid): start + 15 min, ..., end."""
    first, last = to_datetime64(start), to_datetime64(end)
    if (first.astype("int64") % QUARTER_SECONDS) or (last.astype("int64") % QUARTER_SECONDS):
        raise ValueError("start and end must lie on the quarter-hour grid")
    return np.arange(first + QUARTER, last + np.timedelta64(1, "s"), QUARTER).astype("datetime64[s]")


def local_starts(ends: np.ndarray, timezone: str) -> pd.DatetimeIndex:
    """Local wall-clock start of each quarter hour (naive, in ``timezone``)."""
    utc = pd.DatetimeIndex(ends - QUARTER).tz_localize("UTC")
    return utc.tz_convert(timezone).tz_localize(None)


@dataclass(frozen=True)
class LocalDays:
    """The local day of every quarter hour: ``index[i]`` into ``days``."""

    index: np.ndarray
    days: list[date]

    def slots_per_day(self) -> np.ndarray:
        return np.bincount(self.index, minlength=len(self.days))


def local_days(ends: np.ndarray, timezone: str) -> LocalDays:
    starts = local_starts(ends, timezone)
    day_numbers = starts.to_numpy().astype("datetime64[D]").astype("int64")
    unique, index = np.unique(day_numbers, return_inverse=True)
    return LocalDays(index.astype(np.int64), [EPOCH + timedelta(days=int(d)) for d in unique])
