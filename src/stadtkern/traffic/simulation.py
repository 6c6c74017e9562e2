"""Simulated traffic counters: vehicles per quarter hour with morning and evening rush hours.

Working days peak at 7-8 and 16-17 local time; Saturdays have one broad midday hump and Sundays and
holidays stay low. A counter's size is its peak (property ``peak``, vehicles per 15 minutes). Now and then
an induction loop breaks and counts zero for one to three days until it is repaired.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from stadtkern.simulator import randomness
from stadtkern.simulator.base import DailyGenerator, episodes, smooth_daily
from stadtkern.simulator.protocol import Asset, SimulationContext
from stadtkern.simulator.timegrid import Day

# Share of the peak per local hour.
WORKDAY = [0.05, 0.03, 0.02, 0.03, 0.08, 0.3, 0.75, 1.0, 0.85, 0.6, 0.55, 0.6, 0.65, 0.65, 0.7, 0.85, 0.95,
           0.9, 0.7, 0.5, 0.35, 0.25, 0.15, 0.08]  # fmt: skip
SATURDAY = [0.08, 0.05, 0.03, 0.03, 0.04, 0.08, 0.15, 0.25, 0.4, 0.5, 0.6, 0.65, 0.65, 0.62, 0.6, 0.58,
            0.55, 0.5, 0.45, 0.38, 0.3, 0.22, 0.15, 0.1]  # fmt: skip
SUNDAY = [0.08, 0.06, 0.04, 0.03, 0.03, 0.04, 0.07, 0.1, 0.15, 0.22, 0.3, 0.35, 0.38, 0.4, 0.42, 0.42,
          0.42, 0.4, 0.36, 0.3, 0.24, 0.18, 0.12, 0.08]  # fmt: skip
FAULTS_PER_DAY = 1 / 365
FAULT_SLOTS = (96, 288)


class TrafficCounters(DailyGenerator):
    asset_type = "traffic_counter"
    integer_keys = frozenset({"vehicles"})

    def day(self, asset: Asset, grid: Day, context: SimulationContext) -> Mapping[str, np.ndarray]:
        given = asset.properties.get("peak")
        peak = (
            float(given)
            if isinstance(given, int | float) and not isinstance(given, bool) and given > 0
            else 60.0 + 340.0 * randomness.uniform(context.seed, asset.code, "peak")
        )
        # Counts of the quarter hour ending at each time: the curve at its middle.
        hours = (grid.hour - 0.125) % 24.0
        shape = np.select(
            [grid.weekday == 5, grid.weekday == 6],
            [smooth_daily(hours, SATURDAY), smooth_daily(hours, SUNDAY)],
            smooth_daily(hours, WORKDAY),
        )
        vehicles = self.day_rng(asset, grid, context).poisson(peak * shape).astype(float)
        broken = episodes(
            context.seed,
            asset.code,
            "fault",
            grid.day,
            per_day=FAULTS_PER_DAY,
            min_slots=FAULT_SLOTS[0],
            max_slots=FAULT_SLOTS[1],
        )
        return {"vehicles": np.where(broken, 0.0, vehicles)}


GENERATORS = [TrafficCounters()]
