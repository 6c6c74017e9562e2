"""PV feed-in of household meters: physically consistent with consumption, deterministic, and placed on a
share of the demo city's meters (and on demo households 1 and 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from stadtkern.contracts import AssetType
from stadtkern.core.city import load_city
from stadtkern.energy.asset_types import FEED_IN, HOUSEHOLD_METER
from stadtkern.energy.simulation import HouseholdMeters
from stadtkern.modules import plugin_manager
from stadtkern.twin.console.state import NO_DATA, OK, state_of
from stadtkern.twin.generation import plan_assets
from stadtkern.twin.profile import load_twin_profile
from stadtkern.twin.registry import asset_types
from tests.simulator.support import FakeAsset, context

DUISBURG = Path(__file__).resolve().parents[2] / "cities" / "duisburg"
PLAIN = {"annual_kwh": 2800.0, "profile": "H0"}
# A clear July day (UTC midnight to midnight; local CEST = UTC+2).
JULY = (datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 7, 11, tzinfo=UTC))


def series(properties: dict[str, object], start: datetime, end: datetime) -> dict[str, np.ndarray]:
    """Per stream the readings on the full grid of quarter hours (NaN where there is none)."""
    meter = FakeAsset("pv-test", "household_meter", properties=properties)
    raw = HouseholdMeters().series(meter, start, end, context())
    count = int((end - start) / timedelta(minutes=15))
    out = {}
    for key, (times, values) in raw.items():
        column = np.full(count, np.nan)
        index = [int((t - start) / timedelta(minutes=15)) for t in times]
        column[index] = values
        out[key] = column
    return out


def test_feed_in_is_production_beyond_own_use_and_import_drops_by_self_consumption() -> None:
    without = series(PLAIN, *JULY)
    with_pv = series({**PLAIN, "pv_kwp": 6.5}, *JULY)
    assert set(without) == {"energy"}
    assert set(with_pv) == {"energy", "feed_in"}
    use, grid, fed = without["energy"], with_pv["energy"], with_pv["feed_in"]
    # Gaps are the same quarter hours in both streams (a communication outage of the meter).
    assert np.array_equal(np.isnan(grid), np.isnan(fed))
    ok = ~np.isnan(grid)
    assert (fed[ok] >= 0).all()
    assert (grid[ok] >= 0).all()
    # Never both at once: a quarter hour either draws from the grid or feeds in.
    assert np.all(np.minimum(grid[ok], fed[ok]) <= 0.001)
    # What the PV system produced: the import it saved plus what it fed in, never negative.
    produced = use[ok] - grid[ok] + fed[ok]
    assert (produced >= -0.002).all()
    hours = np.array([(JULY[0] + timedelta(minutes=15 * (i + 1))).hour for i in range(len(use))])[ok]
    night = (hours >= 0) & (hours < 2)  # 02:00-04:00 local: the sun is down
    assert fed[ok][night].max() == 0.0
    assert np.allclose(grid[ok][night], use[ok][night], atol=0.001)  # nothing to save at night
    noon = (hours >= 10) & (hours < 12)  # 12:00-14:00 local
    assert grid[ok][noon].sum() < 0.5 * use[ok][noon].sum()  # import reduced at noon
    assert fed[ok][noon].sum() > 0
    # A 6.5 kWp system on ten July days: plausible output (clear sky would be about 6.5 x 6 kWh a day).
    assert 100 < produced.sum() / 1000 < 400


def test_a_year_yields_about_900_kwh_per_kwp() -> None:
    year = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    without = series(PLAIN, *year)
    with_pv = series({**PLAIN, "pv_kwp": 1.0}, *year)
    ok = ~np.isnan(with_pv["energy"])
    produced = (without["energy"][ok] - with_pv["energy"][ok] + with_pv["feed_in"][ok]).sum() / 1000
    assert 800 < produced < 1050
    # December yields far less than June.
    month = np.array([(year[0] + timedelta(minutes=15 * (i + 1))).month for i in range(len(ok))])[ok]
    fed = with_pv["feed_in"][ok]
    assert fed[month == 6].sum() > 4 * fed[month == 12].sum()


def test_the_same_seed_gives_the_same_feed_in() -> None:
    first = series({**PLAIN, "pv_kwp": 4.0}, *JULY)["feed_in"]
    second = series({**PLAIN, "pv_kwp": 4.0}, *JULY)["feed_in"]
    assert np.array_equal(first, second, equal_nan=True)


@pytest.fixture(scope="module")
def types() -> dict[str, AssetType]:
    return asset_types(plugin_manager(load_city(DUISBURG).modules.enabled))


def test_about_one_household_in_eight_has_pv_and_demo_households_1_and_3(types: dict[str, AssetType]) -> None:
    profile = load_twin_profile(load_city(DUISBURG))
    planned = [a for a in plan_assets(profile, types) if a.type_key == "household_meter"]
    generated = [a for a in planned if not a.properties.get("demo_household")]
    with_pv = [a for a in generated if "pv_kwp" in a.properties]
    assert 0.09 < len(with_pv) / len(generated) < 0.15
    assert all(3.0 <= a.properties["pv_kwp"] <= 10.0 for a in with_pv)
    demo = {a.code: a.properties.get("pv_kwp") for a in planned if a.properties.get("demo_household")}
    assert demo == {
        "household-meter-demo-1": 6.5,
        "household-meter-demo-2": None,
        "household-meter-demo-3": 4.0,
    }
    # Deterministic for the seed, and a larger scale keeps the smaller one's PV households.
    again = plan_assets(profile, types)
    assert [a.properties for a in again if a.type_key == "household_meter"] == [a.properties for a in planned]
    small = {a.code for a in plan_assets(profile, types, scale=0.3) if "pv_kwp" in a.properties}
    assert small <= {a.code for a in planned if "pv_kwp" in a.properties}


def test_the_feed_in_stream_exists_only_with_a_pv_system() -> None:
    stream = HOUSEHOLD_METER.datastream(FEED_IN)
    assert stream.present_for({"pv_kwp": 4.0})
    assert not stream.present_for({"pv_kwp": 0})
    assert not stream.present_for({"annual_kwh": 3000.0})
    assert not stream.present_for(None)
    assert HOUSEHOLD_METER.datastream("energy").present_for({})


def test_a_meter_without_pv_is_not_missing_its_feed_in() -> None:
    assert state_of(HOUSEHOLD_METER, {"energy": (True, 120.0)}) == OK
    assert state_of(HOUSEHOLD_METER, {"energy": (True, 0.0), "feed_in": (True, 300.0)}) == OK
    # Where the meter has a feed-in stream, a stale one is noticed like any other.
    assert state_of(HOUSEHOLD_METER, {"energy": (True, 0.0), "feed_in": (False, 300.0)}) == NO_DATA
