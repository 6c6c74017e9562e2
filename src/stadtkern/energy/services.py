"""The energy module's rules for a household: its tariff check over the last 12 months.

Takes a session and a clock's time; pages and the CLI call these. The maths is in tariff_check.py, the
data come from SensorThings (consumption.read_series, prices.prices_on_grid).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.energy import consumption, prices
from stadtkern.energy.activation import Meter
from stadtkern.energy.tariff_check import (
    FlexibleLoad,
    FlexibleSaving,
    PricesMissing,
    TariffCost,
    compare,
    dynamic_prices,
    flexible_saving,
)
from stadtkern.energy.tariffs import TariffBook
from stadtkern.energy.timegrid import local_days


@dataclass(frozen=True)
class TariffCheck:
    start: datetime
    end: datetime
    days: int
    coverage: float
    missing_quarter_hours: int
    costs: list[TariffCost]
    # Why the dynamic tariff could not be computed (no or missing prices), else None.
    dynamic_problem: str | None
    flexible: FlexibleSaving | None
    # A household with a PV system: the energy it fed in (measured quarter hours only) and how many
    # quarter hours of feed-in are missing; None: the meter has no feed-in.
    feed_in_kwh: float | None = None
    feed_in_missing: int = 0
    # The feed-in energy at the city profile's feed-in rate (tariffs.toml [feed_in]), if it names one.
    feed_in_eur: float | None = None

    @property
    def best(self) -> TariffCost | None:
        return min(self.costs, key=lambda c: c.total_eur) if self.costs else None

    @property
    def best_monthly(self) -> TariffCost | None:
        """The cheapest tariff that needs only monthly totals (the data-minimising choice)."""
        monthly = [c for c in self.costs if c.tariff.data == "monthly"]
        return min(monthly, key=lambda c: c.total_eur) if monthly else None


async def tariff_check(
    session: AsyncSession,
    meter: Meter,
    book: TariffBook,
    *,
    now: datetime,
    timezone: str,
    flexible: FlexibleLoad | None = None,
) -> TariffCheck:
    start, end = consumption.last_twelve_months(now, timezone)
    series = await consumption.read_series(session, meter.datastream_id, start, end)
    days = len(local_days(series.ends, timezone).days)
    stream = await prices.price_stream(session, book.prices.bidding_zone)
    day_ahead = (
        await prices.prices_on_grid(session, stream, series.ends)
        if stream is not None
        else np.full(len(series.ends), np.nan)
    )
    tariffs = list(book.tariffs)
    problem: str | None = None
    dynamic = book.dynamic
    if dynamic is not None and stream is None:
        problem = "no_prices"
        tariffs.remove(dynamic)
    try:
        costs = compare(series.kwh, day_ahead, tariffs, days=days, ends=series.ends)
    except PricesMissing as exc:
        problem = f"missing:{exc.count}"
        tariffs = [t for t in tariffs if not t.dynamic]
        costs = compare(series.kwh, day_ahead, tariffs, days=days, ends=series.ends)
    saving = None
    if flexible is not None and dynamic is not None and problem is None:
        saving = flexible_saving(series.ends, dynamic_prices(dynamic, day_ahead), flexible, timezone)
    feed_in_kwh: float | None = None
    feed_in_missing = 0
    feed_in_eur: float | None = None
    if meter.feed_in_id is not None:
        # The supply maths above use only what was drawn from the grid; feed-in is reported beside it.
        fed = await consumption.read_series(session, meter.feed_in_id, start, end)
        feed_in_kwh = float(np.nansum(fed.kwh))
        feed_in_missing = len(fed.kwh) - fed.measured
        if book.feed_in is not None:
            feed_in_eur = feed_in_kwh * book.feed_in.ct_per_kwh / 100.0
    return TariffCheck(
        start,
        end,
        days,
        series.coverage,
        len(series.kwh) - series.measured,
        costs,
        problem,
        saving,
        feed_in_kwh,
        feed_in_missing,
        feed_in_eur,
    )
