"""Street lights burn between dusk and dawn in Duisburg, dimmed from 23 to 5 o'clock, and sometimes fail."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from stadtkern.lighting.simulation import StreetLights, dark_hours
from tests.simulator.support import FakeAsset, context

LIGHT = FakeAsset("street_light-100-0001", "street_light")


def levels(start: datetime, end: datetime, asset: FakeAsset = LIGHT, seed: int = 1) -> dict[datetime, int]:
    times, values = StreetLights().series(asset, start, end, context(seed))["dim_level"]
    return {t: int(v) for t, v in zip(times, values, strict=True)}


def test_dusk_and_dawn_in_duisburg_on_17_november_2026() -> None:
    dusk, dawn = dark_hours(date(2026, 11, 17), 51.4344, 6.7623)
    # Civil twilight in Duisburg: 17:18 and 07:17 local time (timeanddate.de: 17:19 / 07:16).
    assert abs(dusk - datetime(2026, 11, 17, 16, 18, tzinfo=UTC)) < timedelta(minutes=3)
    assert abs(dawn - datetime(2026, 11, 18, 6, 17, tzinfo=UTC)) < timedelta(minutes=3)


def test_on_between_dusk_and_dawn_dimmed_at_night() -> None:
    day = levels(datetime(2026, 11, 17, 12, tzinfo=UTC), datetime(2026, 11, 18, 12, tzinfo=UTC))

    def at(hour: int, minute: int, d: int = 17) -> int:
        return day[datetime(2026, 11, d, hour, minute, tzinfo=UTC)]

    assert at(15, 0) == 0  # afternoon
    assert at(16, 15) == 0  # just before dusk (16:18 UTC)
    assert at(16, 30) == 100  # after dusk
    assert at(21, 45) == 100  # 22:45 local
    assert at(22, 0) == 50  # 23:00 local: dimmed
    assert at(3, 45, 18) == 50  # 04:45 local
    assert at(4, 0, 18) == 100  # 05:00 local: full again until dawn
    assert at(6, 15, 18) == 100  # before dawn (06:17 UTC)
    assert at(6, 30, 18) == 0  # after dawn
    on = [t for t, v in day.items() if v > 0]
    assert min(on) == datetime(2026, 11, 17, 16, 30, tzinfo=UTC)
    assert max(on) == datetime(2026, 11, 18, 6, 15, tzinfo=UTC)


def test_in_june_the_nights_are_short() -> None:
    night = [
        t
        for t, v in levels(datetime(2026, 6, 21, tzinfo=UTC), datetime(2026, 6, 22, tzinfo=UTC)).items()
        if v
    ]
    assert 5 * 4 <= len(night) <= 7 * 4  # about six hours between civil dusk and dawn


def test_a_broken_lamp_stays_dark_and_reports_its_fault() -> None:
    generator = StreetLights()
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    faults = 0
    for number in range(40):
        asset = FakeAsset(f"street_light-100-{number:04d}", "street_light")
        series = generator.series(asset, start, end, context())
        broken = {t for t, v in zip(*series["fault"], strict=True) if v == 1}
        faults += len(broken)
        level = dict(zip(*series["dim_level"], strict=True))
        assert all(level[t] == 0 for t in broken if t in level)
    assert faults > 0, "40 lamps over three months see some faults"
