"""Demo day-ahead prices for the simulated city: a plausible daily shape, deterministic for a seed.

Not market data. Per quarter hour (the day-ahead auction's resolution since October 2025), in €/MWh:
a seasonal level (higher in winter), a morning and a stronger evening peak, a night low, a midday dip from
solar power that is deep in summer and on sunny days can push prices below zero, lower prices at weekends
and on public holidays, a random level per day and a little noise per quarter hour. Each local day draws
from its own generator seeded by (seed, "day-ahead", date), so any range gives the same prices.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from stadtkern.energy.smard import PriceRow
from stadtkern.energy.timegrid import QUARTER, local_starts, quarter_ends
from stadtkern.simulator import randomness
from stadtkern.simulator.timegrid import _holidays

LOW, HIGH = -80.0, 450.0


def _bump(hour: np.ndarray, centre: float, width: float) -> np.ndarray:
    result: np.ndarray = np.exp(-(((hour - centre) / width) ** 2))
    return result


def demo_prices(
    start: datetime, end: datetime, *, seed: int, timezone: str = "Europe/Berlin"
) -> list[PriceRow]:
    """Quarter-hourly demo prices for ``[start, end)`` (both on the quarter-hour grid)."""
    ends = quarter_ends(start, end)
    if len(ends) == 0:
        return []
    local = local_starts(ends, timezone)
    hour = np.asarray(local.hour + local.minute / 60.0, dtype=float)
    doy = np.asarray(local.day_of_year, dtype=float)
    dates = local.to_numpy().astype("datetime64[D]")
    holidays: set[np.datetime64] = set()
    for year in set(local.year.tolist()):
        holidays |= {np.datetime64(day, "D") for day in _holidays(int(year), "NW")}
    weekend = (np.asarray(local.day_of_week) >= 5) | np.isin(dates, list(holidays))
    season = np.cos(2 * np.pi * (doy - 15) / 365.0)  # 1 in mid-January, -1 in mid-July
    sun = np.clip(np.cos(2 * np.pi * (doy - 172) / 365.0), 0.0, None) + 0.15
    unique_days, day_index = np.unique(dates, return_inverse=True)
    level = np.empty(len(unique_days))
    sunny = np.empty(len(unique_days))
    day_noise = np.empty((len(unique_days), 96))
    for i, day in enumerate(unique_days):
        rng = randomness.rng(seed, "day-ahead", str(day))
        level[i] = rng.normal(0.0, 14.0)
        sunny[i] = rng.uniform(0.25, 1.15)
        day_noise[i] = rng.normal(0.0, 4.0, 96)
    # By wall-clock quarter hour, so that any part of a day draws the same (the repeated hour in October
    # repeats its noise).
    noise = day_noise[day_index, np.asarray(local.hour) * 4 + np.asarray(local.minute) // 15]
    price = (
        92.0
        + 28.0 * season
        + 38.0 * _bump(hour, 7.75, 1.3)
        + 58.0 * _bump(hour, 18.75, 1.7)
        - 22.0 * _bump(hour, 3.5, 2.0)
        - 105.0 * sun * sunny[day_index] * _bump(hour, 13.25, 2.4) * np.where(weekend, 1.3, 1.0)
        - np.where(weekend, 16.0, 0.0)
        + level[day_index]
        + noise
    )
    values = np.round(np.clip(price, LOW, HIGH), 2)
    return [
        PriceRow(
            (t - QUARTER).item().replace(tzinfo=UTC),
            t.item().replace(tzinfo=UTC),
            float(v),
        )
        for t, v in zip(ends, values, strict=True)
    ]


def demo_range(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    """From 366 local days before today to the end of tomorrow (the auction has priced it by now): the
    demo households' year of history and the day ahead."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    first = datetime.combine(today - timedelta(days=366), datetime.min.time(), zone)
    last = datetime.combine(today + timedelta(days=2), datetime.min.time(), zone)
    return first.astimezone(UTC), last.astimezone(UTC)
