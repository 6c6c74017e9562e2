"""Simulated district-heating points: they follow the outdoor temperature (the city's simulated weather).

The supply temperature (``supply_temperature``, °C) follows the network's heating curve: 75 °C from 15 °C
outdoors upwards, rising to 110 °C at -10 °C. The heat power (``heat_power``, kW) is the building's
design load (property ``design_kw``) times how cold it is against 20 °C indoors, with a night set-back
and a hot-water share peaking in the morning and evening. Now and then a pump or valve fails: the supply
temperature falls towards 40 °C and little heat flows, for two to twelve hours.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from stadtkern.simulator import randomness
from stadtkern.simulator.base import DailyGenerator, episodes, smooth_daily
from stadtkern.simulator.protocol import Asset, SimulationContext
from stadtkern.simulator.timegrid import SLOTS, Day
from stadtkern.simulator.weather import outdoor_temperature

DESIGN_OUTDOOR = -10.0  # °C at which a building needs its design load
INDOOR = 20.0
HOT_WATER = [0.3, 0.2, 0.2, 0.2, 0.3, 0.8, 1.6, 1.8, 1.4, 1.0, 0.9, 0.9, 1.0, 0.9, 0.8, 0.8, 0.9, 1.1, 1.4,
             1.6, 1.5, 1.2, 0.8, 0.5]  # fmt: skip
FAULTS_PER_DAY = 1 / 300
FAULT_SLOTS = (8, 48)


def supply_temperature(outdoor: np.ndarray) -> np.ndarray:
    """The network's heating curve: 75 °C at 15 °C outdoors and above, 110 °C at -10 °C."""
    result: np.ndarray = np.clip(75.0 + (15.0 - outdoor) * 35.0 / 25.0, 75.0, 110.0)
    return result


class HeatingPoints(DailyGenerator):
    asset_type = "heating_point"

    def day(self, asset: Asset, grid: Day, context: SimulationContext) -> Mapping[str, np.ndarray]:
        given = asset.properties.get("design_kw")
        design = (
            float(given)
            if isinstance(given, int | float) and not isinstance(given, bool) and given > 0
            else 80.0 + 600.0 * randomness.uniform(context.seed, asset.code, "design_kw")
        )
        outdoor = outdoor_temperature(context.seed, grid)
        draw = self.day_rng(asset, grid, context)
        night = (grid.hour >= 22.0) | (grid.hour < 5.0)
        space = design * np.clip((INDOOR - outdoor) / (INDOOR - DESIGN_OUTDOOR), 0.0, 1.2)
        space *= np.where(night, 0.75, 1.0)
        water = 0.08 * design * smooth_daily(grid.hour, HOT_WATER)
        power = (space + water) * draw.normal(1.0, 0.04, SLOTS)
        supply = supply_temperature(outdoor) + draw.normal(0.0, 0.6, SLOTS)
        broken = episodes(
            context.seed,
            asset.code,
            "fault",
            grid.day,
            per_day=FAULTS_PER_DAY,
            min_slots=FAULT_SLOTS[0],
            max_slots=FAULT_SLOTS[1],
        )
        supply = np.where(broken, 40.0 + draw.normal(0.0, 2.0, SLOTS), supply)
        power = np.where(broken, 0.05 * power, power)
        return {"supply_temperature": supply, "heat_power": np.maximum(power, 0.0)}


GENERATORS = [HeatingPoints()]
