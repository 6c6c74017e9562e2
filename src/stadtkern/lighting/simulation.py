"""Simulated street lights: on at dusk, dimmed at night, off at dawn; now and then a lamp fails.

Real street lights switch with an astronomical timer (Astro-Zeitschaltuhr): the times of dusk and dawn are
computed for the city's position with astral, from the city profile. We use astral's dusk and dawn at
civil twilight (sun 6° below the horizon): the sun never goes 18° down in Duisburg's summer nights, so
"astronomical twilight" in the narrow sense would leave the streets dark in June.

Streams (asset type ``street_light``): ``dim_level`` (%; 0 off, 100 full; every quarter hour), ``fault``
(0/1; every hour). During a
fault episode (the lamp is broken until the service crew comes, one to five days) the light stays off.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import numpy as np
from astral import Observer
from astral.sun import dawn, dusk

from stadtkern.simulator.base import DailyGenerator, episodes
from stadtkern.simulator.protocol import Asset, SimulationContext
from stadtkern.simulator.timegrid import SLOTS, Day

FULL = 100.0
DIMMED = 50.0
DIM_FROM = 23.0  # local hour from which lights burn dimmed ...
DIM_UNTIL = 5.0  # ... until this local hour
FAULTS_PER_DAY = 1 / 500  # a lamp fails about every 16 months
FAULT_SLOTS = (96, 480)  # one to five days until repair
FAULT_REPORT_EVERY = 4  # quarter hours: the fault state is reported every hour


@lru_cache(maxsize=4096)
def dark_hours(local_day: date, latitude: float, longitude: float) -> tuple[datetime, datetime]:
    """(dusk of the day, dawn of the next day), UTC: the lights are on in between."""
    observer = Observer(latitude=latitude, longitude=longitude)
    evening = dusk(observer, local_day, tzinfo=UTC)
    morning = dawn(observer, local_day + timedelta(days=1), tzinfo=UTC)
    return evening, morning


@lru_cache(maxsize=1024)
def is_dark(times: tuple[datetime, ...], context: SimulationContext) -> np.ndarray:
    """Whether each time lies between a dusk and the following dawn in the city (cached: city-wide)."""
    result = np.zeros(len(times), dtype=bool)
    local_days = {t.astimezone(context.timezone).date() for t in times}
    for local_day in sorted(local_days):
        for day in (local_day - timedelta(days=1), local_day):
            evening, morning = dark_hours(day, context.latitude, context.longitude)
            result |= np.array([evening <= t < morning for t in times])
    return result


class StreetLights(DailyGenerator):
    asset_type = "street_light"
    integer_keys = frozenset({"dim_level", "fault"})

    def day(self, asset: Asset, grid: Day, context: SimulationContext) -> Mapping[str, np.ndarray]:
        dark = is_dark(grid.times, context)
        dimmed = (grid.hour >= DIM_FROM) | (grid.hour < DIM_UNTIL)
        level = np.where(dark, np.where(dimmed, DIMMED, FULL), 0.0)
        broken = episodes(
            context.seed,
            asset.code,
            "fault",
            grid.day,
            per_day=FAULTS_PER_DAY,
            min_slots=FAULT_SLOTS[0],
            max_slots=FAULT_SLOTS[1],
        )
        # The controller reports its fault state every hour, the dim level every quarter hour.
        fault = np.where(np.arange(SLOTS) % FAULT_REPORT_EVERY == 0, broken.astype(float), np.nan)
        return {"dim_level": np.where(broken, 0.0, level), "fault": fault}


GENERATORS = [StreetLights()]
