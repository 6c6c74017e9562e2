"""Tariff maths on columnar arrays: what a period of 15-minute consumption costs under each tariff.

Inputs are numpy columns on one quarter-hour grid (see timegrid.py): consumption in kWh per quarter hour
(NaN where the meter sent nothing: never filled, simply not billed) and the day-ahead price in €/MWh
(NaN where none is known). Rules:

- basic and fixed tariffs: measured kWh x gross price per kWh, plus the base price;
- the dynamic tariff (§ 41a EnWG): per quarter hour (day-ahead price / 1000 + margin + surcharges) x
  (1 + VAT), times the quarter hour's kWh, plus the base price. A quarter hour with consumption but no
  price cannot be billed: :class:`PricesMissing`;
- base price pro rata per day: monthly base x 12 / 365 per local day of the period (12 x monthly for a
  365-day year), the way suppliers bill part-years.

Many households at once: ``consumption`` may be a matrix (households x quarter hours); the dynamic cost is
then one matrix-vector product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time

import numpy as np

from stadtkern.energy.tariffs import Tariff
from stadtkern.energy.timegrid import local_starts


class PricesMissing(ValueError):
    """Quarter hours with consumption but without a day-ahead price."""

    def __init__(self, count: int, first: datetime | None) -> None:
        where = f" (the first ends {first.isoformat()})" if first else ""
        super().__init__(f"{count} quarter hours have consumption but no day-ahead price{where}")
        self.count = count
        self.first = first


def dynamic_prices(tariff: Tariff, day_ahead_eur_per_mwh: np.ndarray) -> np.ndarray:
    """Gross € per kWh of each quarter hour under a dynamic tariff (NaN where the day-ahead price is)."""
    if not tariff.dynamic:
        raise ValueError(f"tariff {tariff.key!r} is not dynamic")
    return (day_ahead_eur_per_mwh / 1000.0 + tariff.net_adders_eur_per_kwh()) * tariff.vat_factor


def base_price(tariff: Tariff, days: int) -> float:
    return tariff.monthly_base_eur * 12.0 * days / 365.0


def energy_costs(
    consumption_kwh: np.ndarray,
    day_ahead_eur_per_mwh: np.ndarray,
    tariffs: Sequence[Tariff],
    ends: np.ndarray | None = None,
) -> np.ndarray:
    """Energy cost (€, without base price) per household and tariff: shape (households, tariffs).

    ``consumption_kwh`` is (quarter hours,) or (households, quarter hours); NaN counts as no consumption.
    One matrix product: consumption x (quarter hours x tariffs) prices, a fixed tariff's column constant.
    """
    matrix = np.atleast_2d(np.asarray(consumption_kwh, dtype=np.float64))
    gaps = np.isnan(matrix)
    if gaps.any():
        matrix = np.where(gaps, 0.0, matrix)
    per_kwh = np.empty((matrix.shape[1], len(tariffs)))
    for j, tariff in enumerate(tariffs):
        if not tariff.dynamic:
            per_kwh[:, j] = (tariff.energy_ct_per_kwh or 0.0) / 100.0
            continue
        gross = dynamic_prices(tariff, np.asarray(day_ahead_eur_per_mwh, dtype=np.float64))
        unpriced = np.isnan(gross)
        if unpriced.any():
            needed = unpriced & (matrix != 0.0).any(axis=0)
            if needed.any():
                first = int(np.argmax(needed))
                moment = ends[first].item().replace(tzinfo=UTC) if ends is not None else None
                raise PricesMissing(int(needed.sum()), moment)
            gross = np.where(unpriced, 0.0, gross)
        per_kwh[:, j] = gross
    costs: np.ndarray = matrix @ per_kwh
    return costs


@dataclass(frozen=True)
class TariffCost:
    tariff: Tariff
    energy_kwh: float
    energy_eur: float
    base_eur: float
    total_eur: float
    # Against the basic supply: positive means cheaper.
    saving_eur: float


def compare(
    consumption_kwh: np.ndarray,
    day_ahead_eur_per_mwh: np.ndarray,
    tariffs: Sequence[Tariff],
    *,
    days: int,
    ends: np.ndarray | None = None,
) -> list[TariffCost]:
    """One household's cost under each tariff over a period of ``days`` local days, with the saving
    against the basic supply (the first ``basic`` tariff)."""
    energy = energy_costs(consumption_kwh, day_ahead_eur_per_mwh, tariffs, ends)[0]
    kwh = float(np.nansum(consumption_kwh))
    totals = [float(e) + base_price(t, days) for e, t in zip(energy, tariffs, strict=True)]
    basic = next((i for i, t in enumerate(tariffs) if t.kind == "basic"), 0)
    return [
        TariffCost(t, kwh, float(e), base_price(t, days), total, totals[basic] - total)
        for t, e, total in zip(tariffs, energy, totals, strict=True)
    ]


def compare_many(
    consumption_kwh: np.ndarray, day_ahead_eur_per_mwh: np.ndarray, tariffs: Sequence[Tariff], *, days: int
) -> np.ndarray:
    """Total cost (€) per household and tariff for a matrix of households: shape (households, tariffs)."""
    energy = energy_costs(consumption_kwh, day_ahead_eur_per_mwh, tariffs)
    totals: np.ndarray = energy + np.array([base_price(t, days) for t in tariffs])
    return totals


# ---- flexible load --------------------------------------------------------------------------------


class FlexibleLoadError(ValueError):
    pass


@dataclass(frozen=True)
class FlexibleLoad:
    """A movable consumer (wallbox, heat pump): ``kwh_per_day`` drawn at up to ``power_kw`` within a daily
    window of local time (``window_end`` before ``window_start``: the window runs past midnight and
    belongs to the day it starts on)."""

    kwh_per_day: float
    power_kw: float
    window_start: time
    window_end: time

    def __post_init__(self) -> None:
        if self.kwh_per_day <= 0:
            raise FlexibleLoadError("kwh_per_day must be positive")
        if self.power_kw <= 0:
            raise FlexibleLoadError("power_kw must be positive")
        if self.window_start == self.window_end:
            raise FlexibleLoadError("the window needs a start and an end that differ")
        if self.window_minutes * self.power_kw / 60.0 < self.kwh_per_day - 1e-9:
            raise FlexibleLoadError("the window is too short to draw kwh_per_day at power_kw")

    @property
    def window_minutes(self) -> int:
        start = self.window_start.hour * 60 + self.window_start.minute
        end = self.window_end.hour * 60 + self.window_end.minute
        return (end - start) % 1440

    @property
    def slot_kwh(self) -> float:
        return self.power_kw / 4.0


@dataclass(frozen=True)
class FlexibleSaving:
    days: int
    # Days whose window lacked prices, or was too short for the load (clock change). Windows cut off at
    # the start or end of the period are not counted at all.
    skipped_days: int
    # Drawing from the window's start at full power (a wallbox plugged in on arrival) ...
    immediate_eur: float
    # ... against the same energy in the window's cheapest quarter hours.
    cheapest_eur: float

    @property
    def saving_eur(self) -> float:
        return self.immediate_eur - self.cheapest_eur


def _schedule_cost(prices: np.ndarray, energy: float, slot_kwh: float) -> float:
    full = int(energy // slot_kwh + 1e-9)
    rest = energy - full * slot_kwh
    cost = float(prices[:full].sum()) * slot_kwh
    if rest > 1e-9:
        cost += float(prices[full]) * rest
    return cost


def flexible_saving(
    ends: np.ndarray, gross_eur_per_kwh: np.ndarray, load: FlexibleLoad, timezone: str
) -> FlexibleSaving:
    """What moving ``load`` to the cheapest quarter hours of its daily window saves under these prices."""
    starts = local_starts(ends, timezone)
    minutes = np.asarray(starts.hour * 60 + starts.minute)
    day = starts.to_numpy().astype("datetime64[D]").astype(np.int64)
    s = load.window_start.hour * 60 + load.window_start.minute
    e = load.window_end.hour * 60 + load.window_end.minute
    if s < e:
        inside = (minutes >= s) & (minutes < e)
    else:
        inside = (minutes >= s) | (minutes < e)
        day = day - (minutes < e)
    # A window cut off at the edges of the period is left out; clock changes may take or add an hour.
    expected = load.window_minutes // 15
    chosen = np.flatnonzero(inside)
    groups = np.split(chosen, np.flatnonzero(np.diff(day[chosen])) + 1) if len(chosen) else []
    immediate = cheapest = 0.0
    days = skipped = 0
    for slots in groups:
        prices = gross_eur_per_kwh[slots]
        partial = len(slots) < expected - 4
        if partial:
            continue
        if len(slots) * load.slot_kwh < load.kwh_per_day - 1e-9 or np.isnan(prices).any():
            skipped += 1
            continue
        days += 1
        immediate += _schedule_cost(prices, load.kwh_per_day, load.slot_kwh)
        cheapest += _schedule_cost(np.sort(prices), load.kwh_per_day, load.slot_kwh)
    return FlexibleSaving(days, skipped, immediate, cheapest)
