"""Simulated water network sensors: flow follows the city's daily demand, pressure sags when it peaks.

Demand is low at night, peaks in the morning (later at weekends) and again in the evening. Flow sensors
(``flow``, m3/h) scale the demand curve by their main's size (property ``base_flow``); pressure sensors
(``pressure``, bar) sit at their zone's static pressure and drop with the square of the demand (friction).
Now and then a pipe bursts: pressure falls by 1.5 bar and flow rises by 80 % for two to eight hours.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from stadtkern.simulator import randomness
from stadtkern.simulator.base import DailyGenerator, episodes, smooth_daily
from stadtkern.simulator.protocol import Asset, SimulationContext
from stadtkern.simulator.timegrid import SLOTS, Day

# Relative demand per local hour on working days (mean about 1).
WORKDAY = [0.4, 0.3, 0.3, 0.3, 0.35, 0.6, 1.3, 1.7, 1.5, 1.2, 1.1, 1.1, 1.2, 1.1, 1.0, 1.0, 1.1, 1.3, 1.5,
           1.5, 1.4, 1.1, 0.8, 0.55]  # fmt: skip
WEEKEND_SHIFT = 1.5  # hours later in the morning at weekends and on holidays
BURSTS_PER_DAY = 1 / 400
BURST_SLOTS = (8, 32)


def demand(grid: Day) -> np.ndarray:
    """The city's relative water demand at the grid's quarter hours."""
    weekend = grid.weekday >= 5
    hours = np.where(weekend, (grid.hour - WEEKEND_SHIFT) % 24.0, grid.hour)
    result: np.ndarray = smooth_daily(hours, WORKDAY) * np.where(weekend, 1.05, 1.0)
    return result


def _burst(asset: Asset, grid: Day, context: SimulationContext) -> np.ndarray:
    zone = str(asset.properties.get("zone") or asset.code)
    return episodes(
        context.seed,
        zone,
        "burst",
        grid.day,
        per_day=BURSTS_PER_DAY,
        min_slots=BURST_SLOTS[0],
        max_slots=BURST_SLOTS[1],
    )


class PressureSensors(DailyGenerator):
    asset_type = "water_pressure_sensor"

    def day(self, asset: Asset, grid: Day, context: SimulationContext) -> Mapping[str, np.ndarray]:
        static = 4.2 + 1.3 * randomness.uniform(context.seed, asset.code, "static")
        noise = self.day_rng(asset, grid, context).normal(0.0, 0.04, SLOTS)
        pressure = static - 0.35 * demand(grid) ** 2 + noise - 1.5 * _burst(asset, grid, context)
        return {"pressure": np.maximum(pressure, 0.5)}


class FlowSensors(DailyGenerator):
    asset_type = "water_flow_sensor"

    def day(self, asset: Asset, grid: Day, context: SimulationContext) -> Mapping[str, np.ndarray]:
        given = asset.properties.get("base_flow")
        base = (
            float(given)
            if isinstance(given, int | float) and not isinstance(given, bool) and given > 0
            else 40.0 + 360.0 * randomness.uniform(context.seed, asset.code, "base_flow")
        )
        noise = self.day_rng(asset, grid, context).normal(1.0, 0.05, SLOTS)
        flow = base * demand(grid) * noise * np.where(_burst(asset, grid, context), 1.8, 1.0)
        return {"flow": np.maximum(flow, 0.0)}


GENERATORS = [PressureSensors(), FlowSensors()]
