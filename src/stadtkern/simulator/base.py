"""Shared machinery of the domain generators: whole UTC days as numpy arrays, gaps and fault episodes.

A :class:`DailyGenerator` describes one UTC day of one asset as arrays of 96 quarter hours per Datastream
key (``NaN`` where there is no reading); the base class cuts any ``[start, end)`` out of those days. As a
day depends only on the seed, the asset code and the day (plus episodes that began on the few days
before, which are recomputed, never remembered), any chunking gives the same readings.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta

import numpy as np

from stadtkern.simulator import randomness
from stadtkern.simulator.protocol import Asset, Reading, Series, SimulationContext
from stadtkern.simulator.timegrid import SLOTS, STEP, Day, day_grid, utc_days


def episodes(
    seed: int, code: str, purpose: str, day: date, *, per_day: float, min_slots: int, max_slots: int
) -> np.ndarray:
    """Quarter hours of ``day`` inside an episode (an outage, a fault) of this asset.

    Each day an episode begins with probability ``per_day`` at a random quarter hour and lasts between
    ``min_slots`` and ``max_slots`` quarter hours; episodes begun on earlier days reach into this one.
    """
    mask = np.zeros(SLOTS, dtype=bool)
    if per_day <= 0:
        return mask
    for back in range(math.ceil(max_slots / SLOTS) + 1):
        begun = day - timedelta(days=back)
        if randomness.uniform(seed, code, purpose, begun) >= per_day:
            continue
        draw = randomness.rng(seed, code, purpose, "shape", begun)
        first = int(draw.integers(0, SLOTS)) - back * SLOTS
        last = first + int(draw.integers(min_slots, max_slots + 1))
        if last > 0:
            mask[max(first, 0) : min(last, SLOTS)] = True
    return mask


class DailyGenerator:
    """Base of the domain generators (see the module docstring)."""

    asset_type: str = ""
    # Datastream keys whose values are whole numbers (stored as integers).
    integer_keys: frozenset[str] = frozenset()
    # Communication outages: no reading at all for a while (what "no data" alert rules look for).
    gaps_per_day: float = 1 / 90
    gap_slots: tuple[int, int] = (4, 24)

    def day(self, asset: Asset, grid: Day, context: SimulationContext) -> Mapping[str, np.ndarray]:
        """The asset's values for the 96 quarter hours of the grid's day per key; NaN means no reading."""
        raise NotImplementedError

    def day_rng(self, asset: Asset, grid: Day, context: SimulationContext) -> np.random.Generator:
        """The random generator for this asset and day (noise of every stream is drawn from it)."""
        return randomness.rng(context.seed, asset.code, grid.day)

    def series(self, asset: Asset, start: datetime, end: datetime, context: SimulationContext) -> Series:
        out: dict[str, tuple[list[datetime], list[float | int]]] = {}
        for day in utc_days(start, end):
            grid = day_grid(day, context.timezone)
            first = grid.times[0]
            lo = max(0, math.ceil((start - first) / STEP))
            hi = min(SLOTS, math.ceil((end - first) / STEP))
            if lo >= hi:
                continue
            gap = episodes(
                context.seed,
                asset.code,
                "gap",
                day,
                per_day=self.gaps_per_day,
                min_slots=self.gap_slots[0],
                max_slots=self.gap_slots[1],
            )
            for key, values in self.day(asset, grid, context).items():
                window = values[lo:hi]
                keep = ~(np.isnan(window) | gap[lo:hi])
                if not keep.any():
                    continue
                index = np.nonzero(keep)[0]
                times, numbers = out.setdefault(key, ([], []))
                times.extend(grid.times[lo + i] for i in index.tolist())
                chosen = window[index]
                if key in self.integer_keys:
                    numbers.extend(np.rint(chosen).astype(np.int64).tolist())
                else:
                    numbers.extend(np.round(chosen, 3).tolist())
        return out

    def readings(
        self, asset: Asset, start: datetime, end: datetime, context: SimulationContext
    ) -> Iterator[Reading]:
        for key, (times, values) in self.series(asset, start, end, context).items():
            for moment, value in zip(times, values, strict=True):
                yield key, moment, value


def smooth_daily(hours: np.ndarray, knots: list[float]) -> np.ndarray:
    """A periodic daily curve through 24 hourly knot values, evaluated at local hours (linear between)."""
    points = np.array([*knots, knots[0]])
    result: np.ndarray = np.interp(hours, np.arange(25.0), points)
    return result
