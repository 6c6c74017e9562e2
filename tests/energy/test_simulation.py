"""Household meters follow the BDEW profiles and add up to their yearly consumption; substations sum up."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from stadtkern.energy.simulation import HouseholdMeters, Substations, yearly_profile
from tests.simulator.support import FakeAsset, context

YEAR = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("profile", ["H0", "H25"])
def test_a_year_adds_up_to_the_configured_consumption(profile: str) -> None:
    total = 0.0
    for number in range(3):
        meter = FakeAsset(
            f"m-{number}", "household_meter", properties={"annual_kwh": 3000.0, "profile": profile}
        )
        series = HouseholdMeters().series(meter, *YEAR, context())
        total += sum(series["energy"][1]) / 1000.0
    # Within 2 %: the variation averages out; a communication gap may lose a few quarter hours.
    assert total / 3 == pytest.approx(3000.0, rel=0.02)


def test_the_profiles_have_an_evening_peak_and_a_night_low() -> None:
    for name in ("H0", "H25"):
        profile = yearly_profile(name, 2026)
        assert profile.sum() == pytest.approx(1.0)
        january_17 = profile[16 * 96 : 17 * 96]  # a Saturday, local quarter hours
        assert january_17[18 * 4 : 21 * 4].mean() > 2 * january_17[2 * 4 : 5 * 4].mean()


def test_a_winter_evening_uses_more_than_a_summer_night() -> None:
    meter = FakeAsset("m-9", "household_meter", properties={"annual_kwh": 3500.0, "profile": "H0"})
    january = HouseholdMeters().series(
        meter, datetime(2026, 1, 13, tzinfo=UTC), datetime(2026, 1, 14, tzinfo=UTC), context()
    )
    july = HouseholdMeters().series(
        meter, datetime(2026, 7, 14, tzinfo=UTC), datetime(2026, 7, 15, tzinfo=UTC), context()
    )
    assert sum(january["energy"][1]) > sum(july["energy"][1])


def test_a_substation_peaks_near_its_peak_load() -> None:
    station = FakeAsset("s-1", "substation", properties={"households": 300, "peak_kw": 500.0})
    series = Substations().series(
        station, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC), context()
    )
    loads = np.array(series["load"][1])
    assert 400 < loads.max() < 560
    assert loads.min() > 0.1 * loads.max()
