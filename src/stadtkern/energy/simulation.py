"""Simulated household smart meters and substations on the BDEW standard load profiles (demandlib).

A household meter reports the energy of each quarter hour (Wh, stamped with the end of the quarter hour):
its yearly consumption (property ``annual_kwh``, otherwise a plausible size between 1,400 and 5,000 kWh)
spread over the year by the BDEW household profile, H25 (2025, demandlib's ``H25``) or the classic H0
(property ``profile``; otherwise half the households each), with random variation per quarter hour that
averages out over the year. A household with a PV system (property ``pv_kwp``) also reports its feed-in
(Wh per quarter hour): production (the grid study's clear-sky shape times the day's weather) minus its own
use in that quarter hour, at least 0; its consumption stream is then only what it draws from the grid.
A substation reports its load (kW): the households behind it on H25 plus a
commercial share on G25, with little noise (many consumers average out); with the property ``peak_kw`` it is
scaled so that the year's highest quarter hour reaches that peak.

The classic H0 is built from demandlib's own BDEW table and dynamisation function: demandlib 0.2.2's
``ElecSlp`` sets ``warnings.simplefilter("error")`` for the whole process and then fails under pandas 3
(``sort_index(inplace=True)`` is deprecated there), so it cannot be called.
"""

from __future__ import annotations

import calendar
import warnings
from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from demandlib import bdew
from demandlib.bdew import elec_slp
from pandas.errors import Pandas4Warning

from stadtkern.energy.asset_types import CONSUMPTION, FEED_IN, PV_PROPERTY
from stadtkern.energy.grid.scenarios import pv_kw_per_kwp
from stadtkern.simulator import randomness
from stadtkern.simulator.base import DailyGenerator
from stadtkern.simulator.protocol import Asset, SimulationContext
from stadtkern.simulator.timegrid import SLOTS, Day, _holidays

PROFILES = ("H0", "H25")
METER_SIGMA = 0.45  # log-normal spread of a household's quarter-hour energy around the profile
SUBSTATION_SIGMA = 0.03
HOUSEHOLD_KWH = 2800.0  # mean yearly consumption of the households behind a substation
HOURS_PER_YEAR = 8760.0
# PV weather: the day's clearness is 0.1 + 0.9 u^WEATHER_EXPONENT (u uniform per day); with the clouds per
# quarter hour a system yields about 900 kWh per kWp a year (clear sky: 1,250), as on the Lower Rhine.
WEATHER_EXPONENT = 0.4
CLOUD_SPREAD = 0.4
_SELP = Path(elec_slp.__file__).resolve().parent / "bdew_data" / "selp_series.csv"
# BDEW seasons of the classic profiles (demandlib's defaults): (first month, day, last month, day).
_SEASONS = (
    ("winter", (1, 1, 3, 20)),
    ("transition", (3, 21, 5, 14)),
    ("summer", (5, 15, 9, 14)),
    ("transition", (9, 15, 10, 31)),
    ("winter", (11, 1, 12, 31)),
)


def _season(day: date) -> str:
    for name, (m1, d1, m2, d2) in _SEASONS:
        if (m1, d1) <= (day.month, day.day) <= (m2, d2):
            return name
    raise AssertionError(day)  # the seasons cover the whole year


def _days(year: int) -> list[date]:
    return [date(year, 1, 1) + timedelta(days=i) for i in range(366 if calendar.isleap(year) else 365)]


@lru_cache(maxsize=8)
def yearly_profile(name: str, year: int) -> np.ndarray:
    """The profile's share of the year's energy per local quarter hour (sums to 1), holidays as Sundays."""
    holidays = _holidays(year, "NW")
    if name in ("H25", "G25"):
        index = pd.date_range(f"{year}-01-01", periods=len(_days(year)) * SLOTS, freq="15min")
        kind = bdew.H25 if name == "H25" else bdew.G25
        with warnings.catch_warnings():
            # demandlib 0.2.2 calls DataFrame.rename(inplace=True), deprecated in pandas 3.1; the result is
            # right, the warning is about demandlib's code, not ours.
            warnings.filterwarnings("ignore", category=Pandas4Warning)
            values = kind(index, holidays=list(holidays.keys())).to_numpy(dtype=float)
    elif name == "H0":
        table = pd.read_csv(_SELP)
        h0 = {
            (period, int(weekday)): group["h0"].to_numpy(dtype=float)
            for (period, weekday), group in table.groupby(["period", "weekday"])
        }
        days = _days(year)
        parts = [h0[(_season(d), 7 if d in holidays else d.isoweekday())] for d in days]
        index = pd.date_range(f"{year}-01-01", periods=len(days), freq="D")
        dynamic = elec_slp.dynamisation_function(index).to_numpy(dtype=float)
        values = np.concatenate([part * factor for part, factor in zip(parts, dynamic, strict=True)])
    else:
        raise ValueError(f"unknown load profile {name!r} (use one of {', '.join(PROFILES)})")
    result: np.ndarray = values / values.sum()
    return result


@lru_cache(maxsize=16)
def _highest(name: str, year: int) -> float:
    return float(yearly_profile(name, year).max())


def shares(name: str, grid: Day) -> np.ndarray:
    """The profile's share of the year for each quarter hour ending at the grid's times."""
    index = (grid.day_of_year - 1) * SLOTS + np.rint(grid.hour * 4).astype(np.int64) - 1
    out = np.empty(SLOTS)
    for year in np.unique(grid.year).tolist():
        profile = yearly_profile(name, int(year))
        chosen = grid.year == year
        out[chosen] = profile[np.clip(index[chosen], -1, len(profile) - 1)]
    return out


def annual_kwh(asset: Asset, seed: int) -> float:
    given = asset.properties.get("annual_kwh")
    if isinstance(given, int | float) and not isinstance(given, bool) and given > 0:
        return float(given)
    # One to five persons: about 1,400 to 5,000 kWh a year.
    return 1400.0 + 3600.0 * float(randomness.uniform(seed, asset.code, "annual_kwh") ** 1.4)


def profile_of(asset: Asset, seed: int) -> str:
    given = asset.properties.get("profile")
    if isinstance(given, str) and given.upper() in PROFILES:
        return given.upper()
    return "H25" if randomness.uniform(seed, asset.code, "profile") < 0.5 else "H0"


def pv_kwp(asset: Asset) -> float:
    """The household's PV system (kWp, property ``pv_kwp``); 0: none (the meter has no feed-in stream)."""
    given = asset.properties.get(PV_PROPERTY)
    if isinstance(given, int | float) and not isinstance(given, bool) and given > 0:
        return float(given)
    return 0.0


def clearness(seed: int, day: date) -> float:
    """The day's weather over the city (shared by every household): 0.1 (overcast) to 1 (clear sky)."""
    return 0.1 + 0.9 * float(randomness.uniform(seed, "pv-weather", day) ** WEATHER_EXPONENT)


def pv_wh(kwp: float, grid: Day, seed: int, rng: np.random.Generator) -> np.ndarray:
    """Wh produced in each quarter hour of the grid (stamped with its end): the clear-sky shape of the grid
    study times the day's clearness, with passing clouds per quarter hour (fewer on clear days)."""
    ends = np.array([t.replace(tzinfo=None) for t in grid.times], dtype="datetime64[s]")
    clear_kw = pv_kw_per_kwp(ends - np.timedelta64(15, "m"))
    k = clearness(seed, grid.day)
    clouds = np.clip(k + (1.0 - k) * CLOUD_SPREAD * rng.standard_normal(SLOTS), 0.05, 1.0)
    result: np.ndarray = kwp * clear_kw * clouds * 250.0  # kW for a quarter hour = kWh / 4 -> Wh
    return result


class HouseholdMeters(DailyGenerator):
    """Consumption (``energy``, drawn from the grid) and, with a PV system, ``feed_in``: the production
    beyond the household's own use in that quarter hour; what it uses itself is not drawn from the grid
    (self-consumption, which the meter does not see)."""

    asset_type = "household_meter"
    gaps_per_day = 1 / 180

    def day(self, asset: Asset, grid: Day, context: SimulationContext) -> Mapping[str, np.ndarray]:
        expected = annual_kwh(asset, context.seed) * 1000.0 * shares(profile_of(asset, context.seed), grid)
        rng = self.day_rng(asset, grid, context)
        use = expected * rng.lognormal(-(METER_SIGMA**2) / 2, METER_SIGMA, SLOTS)
        kwp = pv_kwp(asset)
        if not kwp:
            return {CONSUMPTION: use}
        produced = pv_wh(kwp, grid, context.seed, rng)
        return {CONSUMPTION: np.maximum(use - produced, 0.0), FEED_IN: np.maximum(produced - use, 0.0)}


class Substations(DailyGenerator):
    asset_type = "substation"
    gaps_per_day = 1 / 365

    def day(self, asset: Asset, grid: Day, context: SimulationContext) -> Mapping[str, np.ndarray]:
        households = asset.properties.get("households")
        if not isinstance(households, int) or households < 0:
            households = 120 + int(380 * randomness.uniform(context.seed, asset.code, "households"))
        # Mean commercial load (shops, offices) behind the substation, kW.
        commercial = 50.0 + 400.0 * randomness.uniform(context.seed, asset.code, "commercial")
        # Power (kW) = energy of the year (kWh) x the quarter hour's share x 4 quarter hours per hour.
        homes = households * HOUSEHOLD_KWH * shares("H25", grid) * 4.0
        business = commercial * HOURS_PER_YEAR * shares("G25", grid) * 4.0
        load = homes + business
        peak = asset.properties.get("peak_kw")
        if isinstance(peak, int | float) and not isinstance(peak, bool) and peak > 0:
            # Scaled so that the year's highest quarter hour reaches the substation's peak load.
            year = int(grid.year[0])
            highest = households * HOUSEHOLD_KWH * 4.0 * _highest("H25", year)
            highest += commercial * HOURS_PER_YEAR * 4.0 * _highest("G25", year)
            load = load * float(peak) / highest
        noise = self.day_rng(asset, grid, context).normal(1.0, SUBSTATION_SIGMA, SLOTS)
        return {"load": load * noise}


GENERATORS = [HouseholdMeters(), Substations()]
