"""Traffic counters show morning and evening rush hours on working days; weekends are lower."""

from __future__ import annotations

from datetime import UTC, datetime

from stadtkern.traffic.simulation import TrafficCounters
from tests.simulator.support import FakeAsset, context


def hourly(day: datetime) -> dict[int, int]:
    totals: dict[int, int] = {}
    for number in range(5):
        counter = FakeAsset(f"traffic_counter-100-{number}", "traffic_counter", properties={"peak": 300})
        series = TrafficCounters().series(counter, day, day.replace(day=day.day + 1), context())
        for t, v in zip(*series["vehicles"], strict=True):
            local_hour = (t.hour + 1) % 24  # November: UTC+1
            totals[local_hour] = totals.get(local_hour, 0) + int(v)
    return totals


def test_rush_hours_on_a_tuesday_and_a_quiet_sunday() -> None:
    tuesday = hourly(datetime(2026, 11, 17, tzinfo=UTC))
    sunday = hourly(datetime(2026, 11, 15, tzinfo=UTC))
    morning = max(tuesday[7], tuesday[8])  # stamped 07:00 .. 08:45 local
    assert morning > 1.2 * tuesday[11]  # against late morning
    assert tuesday[17] > 1.2 * tuesday[12]
    assert tuesday[8] > 8 * tuesday[3]
    assert sum(sunday.values()) < 0.6 * sum(tuesday.values())
