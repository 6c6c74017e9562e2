"""The simulated city's weather: one outdoor temperature for all assets, deterministic for the seed.

A seasonal mean for the Lower Rhine (about 2 °C in January, 19 °C in July), a weather anomaly that
changes smoothly from day to day (a moving average of daily random draws) and a daily swing.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from stadtkern.simulator import randomness
from stadtkern.simulator.timegrid import Day

ANNUAL_MEAN = 10.5
ANNUAL_SWING = 8.5  # half the difference between the July and the January mean
DAILY_SWING = 3.5
ANOMALY_DAYS = 5  # the anomaly is a moving average over this many daily draws


@lru_cache(maxsize=4096)
def _anomaly(seed: int, day: date) -> float:
    draws = [
        float(randomness.rng(seed, "weather", day - timedelta(days=k)).normal(0.0, 4.0))
        for k in range(ANOMALY_DAYS)
    ]
    return sum(draws) / math.sqrt(ANOMALY_DAYS)


def outdoor_temperature(seed: int, grid: Day) -> np.ndarray:
    """Outdoor temperature (°C) at the grid's quarter hours."""
    season = ANNUAL_MEAN - ANNUAL_SWING * np.cos(2 * np.pi * (grid.day_of_year - 20) / 365.25)
    daily = DAILY_SWING * np.cos(2 * np.pi * (grid.hour - 15.0) / 24.0)
    result: np.ndarray = season + daily + _anomaly(seed, grid.day)
    return result
