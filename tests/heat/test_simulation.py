"""District-heating points follow the outdoor temperature: more heat and hotter supply in winter."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from stadtkern.heat.simulation import HeatingPoints, supply_temperature
from tests.simulator.support import FakeAsset, context

POINT = FakeAsset("heating_point-100-0001", "heating_point", properties={"design_kw": 1000.0})


def month(start: datetime, end: datetime) -> dict[str, float]:
    series = HeatingPoints().series(POINT, start, end, context())
    return {key: float(np.median(values)) for key, (_times, values) in series.items()}


def test_winter_against_summer() -> None:
    january = month(datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))
    july = month(datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC))
    assert january["heat_power"] > 4 * july["heat_power"]
    assert january["supply_temperature"] > july["supply_temperature"] + 8
    assert 75 <= july["supply_temperature"] <= 78


def test_the_heating_curve() -> None:
    assert supply_temperature(np.array([20.0, 15.0, -10.0, -20.0])).tolist() == [75.0, 75.0, 110.0, 110.0]
