"""Water flow follows the daily demand; pressure sags when demand peaks."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from stadtkern.water.simulation import FlowSensors, PressureSensors
from tests.simulator.support import FakeAsset, context

DAY = (datetime(2026, 11, 17, tzinfo=UTC), datetime(2026, 11, 18, tzinfo=UTC))


def by_local_hour(times: list[datetime], values: list[float | int], hour: int) -> float:
    return float(np.mean([v for t, v in zip(times, values, strict=True) if (t.hour + 1) % 24 == hour]))


def test_morning_demand_against_the_night() -> None:
    flow = FlowSensors().series(
        FakeAsset("f-1", "water_flow_sensor", properties={"base_flow": 200.0}), *DAY, context()
    )
    pressure = PressureSensors().series(FakeAsset("p-1", "water_pressure_sensor"), *DAY, context())
    assert by_local_hour(*flow["flow"], 7) > 3 * by_local_hour(*flow["flow"], 3)
    assert by_local_hour(*pressure["pressure"], 7) < by_local_hour(*pressure["pressure"], 3) - 0.3
    assert all(3.0 < v < 6.0 for v in pressure["pressure"][1])
