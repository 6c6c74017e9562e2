"""The grid study's physics and inputs over short horizons (no database)."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from stadtkern.energy.grid import profiles
from stadtkern.energy.grid.scenarios import (
    Scenario,
    ScenarioError,
    parse_scenario,
    placement,
    pv_kw_per_kwp,
    wallbox_kw,
)
from stadtkern.energy.grid.services import parse_request
from stadtkern.energy.grid.study import run_study

BERLIN = "Europe/Berlin"
WINTER = datetime(2025, 1, 13, tzinfo=ZoneInfo(BERLIN))  # a Monday in January: the highest household load
SUMMER = datetime(2025, 6, 21, tzinfo=ZoneInfo(BERLIN))


def test_base_case_over_two_winter_days_has_no_overloads_and_keeps_the_voltage_band() -> None:
    result = run_study(Scenario(), WINTER, 2 * 96, BERLIN)
    assert result.backend == "lightsim2grid"
    assert len(result.line_names) == 42
    assert len(result.bus_names) == 44
    assert 30.0 < result.max_line_loading < 100.0
    assert result.overloaded_lines == 0
    assert float(result.line_hours_over.sum()) == 0.0
    assert result.violation_steps == 0
    # The slack bus is held at 1.025 p.u.; the far end sags but stays in the band.
    assert result.bus_max_vm.max() == pytest.approx(1.025)
    assert 0.95 < result.bus_min_vm.min() < 1.0
    assert 0 < result.trafo_max_loading < 100.0


def test_more_wallboxes_raise_the_highest_line_loading_monotonically() -> None:
    highest = [
        run_study(Scenario(wallboxes=n), WINTER, 96, BERLIN).max_line_loading for n in (0, 10, 30, 60, 120)
    ]
    assert all(b > a for a, b in itertools.pairwise(highest)), highest
    heavy = run_study(Scenario(wallboxes=120), WINTER, 96, BERLIN)
    assert heavy.overloaded_lines > 0
    # Only the evening charging quarter hours overload: hours over 100 % counted in quarter hours.
    assert 0 < float(heavy.line_hours_over.max()) <= 24.0
    assert float(heavy.line_hours_over.max() * 4) == pytest.approx(
        round(float(heavy.line_hours_over.max() * 4))
    )


def test_pv_raises_the_voltage_in_summer_and_heat_pumps_load_the_grid_in_winter() -> None:
    base = run_study(Scenario(), SUMMER, 96, BERLIN)
    sunny = run_study(Scenario(pv_kw=400), SUMMER, 96, BERLIN)
    assert sunny.bus_max_vm.max() > base.bus_max_vm.max() + 0.01
    assert sunny.max_line_loading > base.max_line_loading  # reverse flow at noon outweighs the evening peak
    cold = run_study(Scenario(heat_pumps=40), WINTER, 96, BERLIN)
    assert cold.max_line_loading > run_study(Scenario(), WINTER, 96, BERLIN).max_line_loading


def test_the_fast_backend_agrees_with_pandapower() -> None:
    scenario = Scenario(wallboxes=40, pv_kw=50)
    start = datetime(2025, 3, 3, 16, tzinfo=ZoneInfo(BERLIN))
    fast = run_study(scenario, start, 24, BERLIN, backend="lightsim2grid")
    plain = run_study(scenario, start, 24, BERLIN, backend="pandapower")
    assert plain.backend == "pandapower"
    np.testing.assert_allclose(fast.line_max_loading, plain.line_max_loading, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(fast.bus_min_vm, plain.bus_min_vm, atol=1e-5)
    assert fast.trafo_max_loading == pytest.approx(plain.trafo_max_loading, rel=1e-3)


def test_profiles_have_their_documented_shapes() -> None:
    day = profiles.step_starts(datetime(2025, 6, 21, tzinfo=ZoneInfo("UTC")), 96)
    for unit in range(6):
        assert wallbox_kw(day, unit).sum() * 0.25 == pytest.approx(7.0)
        assert wallbox_kw(day, unit).max() == 11.0
    pv = pv_kw_per_kwp(day)
    assert pv[:12].max() == 0.0
    assert pv[-8:].max() == 0.0
    assert 10.5 <= int(pv.argmax()) / 4 <= 12.0  # solar noon in Duisburg ≈ 11:33 UTC
    assert 0.6 < pv.max() < 0.8
    spread = placement(41, 41)
    assert sorted(spread.tolist()) == list(range(41))  # one unit per load before any load gets a second
    assert placement(5, 41).tolist() == [0, 7, 14, 21, 28]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"wallboxes": -1}, "wallboxes"),
        ({"heat_pumps": "drei"}, "heat_pumps"),
        ({"heat_pumps": 1001}, "heat_pumps"),
        ({"pv_kw": "viel"}, "pv_kw"),
        ({"pv_kw": float("nan")}, "pv_kw"),
        ({"batteries": 3}, "batteries"),
    ],
)
def test_bad_scenario_input_is_refused_naming_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_a_request_checks_days_and_start() -> None:
    today = datetime(2026, 12, 7, tzinfo=ZoneInfo(BERLIN))
    request = parse_request({"days": "3", "wallboxes": "2"}, BERLIN, today)
    assert request.steps == 288
    assert request.start == datetime(2025, 1, 1, tzinfo=ZoneInfo(BERLIN))
    assert request.scenario == Scenario(wallboxes=2)
    for data, field in (({"days": 0}, "days"), ({"days": "x"}, "days"), ({"start": "morgen"}, "start")):
        with pytest.raises(ScenarioError) as caught:
            parse_request(data, BERLIN, today)
        assert caught.value.field == field
