"""Tariff maths against hand-computed cases, including the days the clocks change in Europe/Berlin."""

from __future__ import annotations

from datetime import UTC, datetime, time

import numpy as np
import pytest

from stadtkern.energy.tariff_check import (
    FlexibleLoad,
    FlexibleLoadError,
    PricesMissing,
    compare,
    compare_many,
    dynamic_prices,
    flexible_saving,
)
from stadtkern.energy.tariffs import Surcharge, Tariff
from stadtkern.energy.timegrid import local_days, quarter_ends

BERLIN = "Europe/Berlin"
BASIC = Tariff("gv", "basic", "GV", "S", 10.0, "monthly", True, energy_ct_per_kwh=40.0)
FIXED = Tariff("fp", "fixed", "FP", "S", 12.0, "monthly", True, energy_ct_per_kwh=30.0)
# Net adders 2 + 18 = 20 ct; VAT 19 %: 100 €/MWh costs (0.10 + 0.20) x 1.19 = 0.357 €/kWh.
DYNAMIC = Tariff(
    "dyn",
    "dynamic",
    "Dyn",
    "S",
    6.0,
    "quarter_hourly",
    True,
    margin_ct_per_kwh=2.0,
    vat_percent=19.0,
    surcharges=[Surcharge("netz", "Netz", 16.0, True), Surcharge("steuer", "Steuer", 2.0, False)],
)
TARIFFS = [BASIC, FIXED, DYNAMIC]

# Local days of 2026 when the clocks change: 29 March (23 h) and 25 October (25 h).
SPRING = (datetime(2026, 3, 28, 23, 0, tzinfo=UTC), datetime(2026, 3, 29, 22, 0, tzinfo=UTC))
AUTUMN = (datetime(2026, 10, 24, 22, 0, tzinfo=UTC), datetime(2026, 10, 25, 23, 0, tzinfo=UTC))


@pytest.mark.parametrize(("span", "slots"), [(SPRING, 92), (AUTUMN, 100)])
def test_clock_change_days_have_92_and_100_quarter_hours(span: tuple[datetime, datetime], slots: int) -> None:
    ends = quarter_ends(*span)
    days = local_days(ends, BERLIN)
    assert len(ends) == slots
    assert [d.isoformat() for d in days.days] == [span[1].date().isoformat()]
    assert days.slots_per_day().tolist() == [slots]


@pytest.mark.parametrize(("span", "slots"), [(SPRING, 92), (AUTUMN, 100)])
def test_a_clock_change_day_costs_what_hand_arithmetic_says(
    span: tuple[datetime, datetime], slots: int
) -> None:
    ends = quarter_ends(*span)
    kwh = np.full(slots, 0.25)  # 1 kW all day
    prices = np.full(slots, 100.0)
    costs = {c.tariff.key: c for c in compare(kwh, prices, TARIFFS, days=1, ends=ends)}
    energy = slots * 0.25
    assert costs["gv"].energy_kwh == pytest.approx(energy)
    # One day of base price: monthly x 12 / 365.
    assert costs["gv"].total_eur == pytest.approx(energy * 0.40 + 10.0 * 12 / 365)
    assert costs["fp"].total_eur == pytest.approx(energy * 0.30 + 12.0 * 12 / 365)
    assert costs["dyn"].energy_eur == pytest.approx(energy * 0.357)
    assert costs["dyn"].total_eur == pytest.approx(energy * 0.357 + 6.0 * 12 / 365)
    assert costs["fp"].saving_eur == pytest.approx(costs["gv"].total_eur - costs["fp"].total_eur)
    assert costs["gv"].saving_eur == 0.0


def test_a_year_of_base_price_is_twelve_months() -> None:
    ends = quarter_ends(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 1, tzinfo=UTC))
    (cost,) = compare(np.zeros(4), np.zeros(4), [BASIC], days=365)
    assert cost.base_eur == pytest.approx(120.0)
    assert len(ends) == 4


def test_dynamic_price_follows_each_quarter_hour() -> None:
    prices = np.array([-50.0, 0.0, 100.0, 300.0])
    gross = dynamic_prices(DYNAMIC, prices)
    # (-0.05 + 0.20) x 1.19, (0 + 0.20) x 1.19, ...
    assert gross.tolist() == pytest.approx([0.1785, 0.238, 0.357, 0.595])
    kwh = np.array([1.0, 0.0, 2.0, 0.5])
    (cost,) = compare(kwh, prices, [DYNAMIC], days=0)
    assert cost.energy_eur == pytest.approx(0.1785 + 2 * 0.357 + 0.5 * 0.595)


def test_gaps_are_not_billed_and_not_filled() -> None:
    kwh = np.array([1.0, np.nan, 1.0, np.nan])
    prices = np.array([100.0, np.nan, 100.0, 100.0])
    (basic, dyn) = compare(kwh, prices, [BASIC, DYNAMIC], days=0)
    assert basic.energy_kwh == 2.0
    assert basic.energy_eur == pytest.approx(0.8)
    # A missing price where nothing was measured does not matter.
    assert dyn.energy_eur == pytest.approx(2 * 0.357)


def test_consumption_without_a_price_is_refused() -> None:
    ends = quarter_ends(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 1, 1, tzinfo=UTC))
    with pytest.raises(PricesMissing) as caught:
        compare(np.ones(4), np.array([1.0, np.nan, np.nan, 1.0]), [DYNAMIC], days=0, ends=ends)
    assert caught.value.count == 2
    assert caught.value.first == datetime(2026, 5, 1, 0, 30, tzinfo=UTC)


def test_many_households_equal_one_by_one() -> None:
    rng = np.random.default_rng(1)
    kwh = rng.gamma(2.0, 0.05, size=(5, 96 * 3))
    prices = rng.normal(90.0, 30.0, size=96 * 3)
    matrix = compare_many(kwh, prices, TARIFFS, days=3)
    for row, household in zip(matrix, kwh, strict=True):
        single = [c.total_eur for c in compare(household, prices, TARIFFS, days=3)]
        assert row.tolist() == pytest.approx(single)


def flat_prices(ends: np.ndarray, cheap_local_hours: dict[int, float]) -> np.ndarray:
    """0.30 €/kWh, except given local hours."""
    from stadtkern.energy.timegrid import local_starts

    hours = np.asarray(local_starts(ends, BERLIN).hour)
    out = np.full(len(ends), 0.30)
    for hour, price in cheap_local_hours.items():
        out[hours == hour] = price
    return out


def test_flexible_load_moves_to_the_cheapest_quarter_hours() -> None:
    # One ordinary day (2026-06-10), wallbox 11 kW, 5.5 kWh/day, window 18:00-06:00 local.
    ends = quarter_ends(datetime(2026, 6, 10, 16, 0, tzinfo=UTC), datetime(2026, 6, 11, 4, 0, tzinfo=UTC))
    prices = flat_prices(ends, {3: 0.10})
    load = FlexibleLoad(5.5, 11.0, time(18, 0), time(6, 0))
    result = flexible_saving(ends, prices, load, BERLIN)
    assert (result.days, result.skipped_days) == (1, 0)
    # Immediately: 18:00-18:30 at 2.75 kWh per quarter hour, 0.30 €/kWh.
    assert result.immediate_eur == pytest.approx(5.5 * 0.30)
    # Cheapest: two quarter hours at 03:xx at 0.10 €/kWh.
    assert result.cheapest_eur == pytest.approx(5.5 * 0.10)
    assert result.saving_eur == pytest.approx(5.5 * 0.20)


def test_flexible_load_with_a_partial_quarter_hour() -> None:
    ends = quarter_ends(datetime(2026, 6, 10, 22, 0, tzinfo=UTC), datetime(2026, 6, 11, 4, 0, tzinfo=UTC))
    prices = flat_prices(ends, {4: 0.05, 5: 0.20})
    # 4 kW: 1 kWh per quarter hour; 5.5 kWh = 5.5 quarter hours within 00:00-06:00 local.
    load = FlexibleLoad(5.5, 4.0, time(0, 0), time(6, 0))
    result = flexible_saving(ends, prices, load, BERLIN)
    # From 00:00: 5.5 kWh at 0.30; cheapest: 4 kWh at 0.05 (04:xx), 1.5 kWh at 0.20 (05:xx).
    assert result.immediate_eur == pytest.approx(1.65)
    assert result.cheapest_eur == pytest.approx(4 * 0.05 + 1.5 * 0.20)


@pytest.mark.parametrize(("span", "window_slots"), [(SPRING, 8), (AUTUMN, 16)])
def test_flexible_window_over_the_clock_change(span: tuple[datetime, datetime], window_slots: int) -> None:
    # Window 01:00-04:00 local: 2 hours on 29 March (02:00-03:00 does not exist), 4 hours on 25 October.
    ends = quarter_ends(*span)
    prices = np.linspace(0.40, 0.20, len(ends))  # falling all day: later is cheaper
    load = FlexibleLoad(2.0, 4.0, time(1, 0), time(4, 0))
    result = flexible_saving(ends, prices, load, BERLIN)
    from stadtkern.energy.timegrid import local_starts

    hours = np.asarray(local_starts(ends, BERLIN).hour)
    inside = np.flatnonzero((hours >= 1) & (hours < 4))
    assert len(inside) == window_slots
    assert result.immediate_eur == pytest.approx(prices[inside[:2]].sum() * 1.0)
    assert result.cheapest_eur == pytest.approx(prices[inside[-2:]].sum() * 1.0)


def test_a_day_too_short_for_the_load_is_skipped_not_guessed() -> None:
    ends = quarter_ends(*SPRING)
    prices = np.full(len(ends), 0.3)
    # 3 hours at 4 kW = 12 kWh fits 01:00-04:00 on normal days, not on the 23-hour day.
    result = flexible_saving(ends, prices, FlexibleLoad(12.0, 4.0, time(1, 0), time(4, 0)), BERLIN)
    assert (result.days, result.skipped_days) == (0, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0.0, 11.0, time(18), time(6)), "kwh_per_day"),
        ((5.0, 0.0, time(18), time(6)), "power_kw"),
        ((5.0, 11.0, time(6), time(6)), "start and an end"),
        ((50.0, 11.0, time(22), time(23)), "too short"),
    ],
)
def test_flexible_load_refuses_impossible_schedules(
    args: tuple[float, float, time, time], message: str
) -> None:
    with pytest.raises(FlexibleLoadError, match=message):
        FlexibleLoad(*args)


def test_windows_cut_off_by_the_period_are_not_counted() -> None:
    # Local 10 and 11 June 2026; window 18:00-07:00: only the night 10/11 lies wholly inside.
    ends = quarter_ends(datetime(2026, 6, 9, 22, 0, tzinfo=UTC), datetime(2026, 6, 11, 22, 0, tzinfo=UTC))
    result = flexible_saving(
        ends, np.full(len(ends), 0.3), FlexibleLoad(7.0, 11.0, time(18), time(7)), BERLIN
    )
    assert (result.days, result.skipped_days) == (1, 0)
