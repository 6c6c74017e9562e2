"""Simulated waste containers: the fill level rises until the weekly collection empties them.

Each container has its collection weekday (drawn per container) and is emptied in the morning of that
day; sometimes a collection is missed (blocked access, holiday) and the container overflows. How fast it
fills differs per container (property ``fill_days``: days from empty to full, otherwise 4 to 12) and per
week. Sensors report every hour (``fill_level``, %), with a little measuring noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from stadtkern.simulator import randomness
from stadtkern.simulator.base import DailyGenerator
from stadtkern.simulator.protocol import Asset, SimulationContext
from stadtkern.simulator.timegrid import SLOTS, Day

MISSED = 0.04  # share of collections that do not happen
LOOKBACK_WEEKS = 4
REPORT_EVERY = 4  # quarter hours: one reading an hour


def fill_days(asset: Asset, seed: int) -> float:
    given = asset.properties.get("fill_days")
    if isinstance(given, int | float) and not isinstance(given, bool) and given > 0:
        return float(given)
    return 4.0 + 8.0 * randomness.uniform(seed, asset.code, "fill_days")


def collections(asset: Asset, day: date, context: SimulationContext) -> list[datetime]:
    """The collections (UTC) of the weeks up to ``day``, oldest first, missed ones left out."""
    weekday = int(5 * randomness.uniform(context.seed, asset.code, "weekday"))  # Monday..Friday
    found: list[datetime] = []
    for back in range(LOOKBACK_WEEKS * 7, -2, -1):
        candidate = day - timedelta(days=back)
        if candidate.weekday() != weekday:
            continue
        if randomness.uniform(context.seed, asset.code, "missed", candidate) < MISSED:
            continue
        hour = 7.0 + 5.0 * randomness.uniform(context.seed, asset.code, "hour", candidate)
        local = datetime.combine(candidate, time(int(hour), int(hour % 1 * 60)), tzinfo=context.timezone)
        found.append(local.astimezone(UTC))
    return found


class WasteContainers(DailyGenerator):
    asset_type = "waste_container"

    def day(self, asset: Asset, grid: Day, context: SimulationContext) -> Mapping[str, np.ndarray]:
        emptied = collections(asset, grid.day, context)
        days_to_full = fill_days(asset, context.seed)
        level = np.full(SLOTS, np.nan)
        noise = self.day_rng(asset, grid, context).normal(0.0, 1.5, SLOTS)
        for slot in range(0, SLOTS, REPORT_EVERY):
            moment = grid.times[slot]
            last = max((c for c in emptied if c <= moment), default=None)
            if last is None:
                level[slot] = 100.0
                continue
            # This week's pace: busier or quieter than the container's usual.
            pace = 0.8 + 0.4 * randomness.uniform(context.seed, asset.code, "pace", last.date())
            hours = (moment - last).total_seconds() / 3600.0
            level[slot] = 100.0 * pace * hours / (24.0 * days_to_full) + noise[slot]
        return {"fill_level": np.clip(level, 0.0, 100.0)}


GENERATORS = [WasteContainers()]
