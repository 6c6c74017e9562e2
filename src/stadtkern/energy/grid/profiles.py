"""Base load of the study grid's loads per quarter hour from the BDEW standard load profiles.

Each SimBench load keeps its rated power ``p_mw`` as its peak: its profile (H25 for SimBench's household
profiles ``H0-*``, G25 for the commercial ``G*``) is scaled so that the profile's highest quarter hour of
the year equals ``p_mw``. Reactive power follows the load's own q/p ratio.

With the load source "Zählerdaten des Stadtbezirks" (meter_fed_load) the household loads take their shape
from the district's average metered household instead, at the same energy scale; commercial loads keep G25.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from stadtkern.energy.timegrid import local_starts

STEP = timedelta(minutes=15)


def step_starts(start: datetime, steps: int) -> np.ndarray:
    """UTC starts of ``steps`` quarter hours from ``start`` (naive datetime64, UTC)."""
    first = np.datetime64(start.replace(tzinfo=None) - (start.utcoffset() or timedelta()), "s")
    return first + np.arange(steps) * np.timedelta64(15, "m")


def profile_name(simbench_profile: object) -> str:
    return "G25" if str(simbench_profile).upper().startswith("G") else "H25"


def _shares(starts: np.ndarray, timezone: str, name: str) -> tuple[np.ndarray, float]:
    """The profile's share per step and the highest share of the years involved."""
    from stadtkern.energy.simulation import yearly_profile  # loads demandlib on use

    local = local_starts(starts + np.timedelta64(15, "m"), timezone)
    index = (
        (np.asarray(local.day_of_year) - 1) * 96 + np.asarray(local.hour) * 4 + np.asarray(local.minute) // 15
    )
    years = np.asarray(local.year)
    out = np.empty(len(starts))
    highest = 0.0
    for year in np.unique(years).tolist():
        profile = yearly_profile(name, int(year))
        chosen = years == year
        out[chosen] = profile[np.clip(index[chosen], 0, len(profile) - 1)]
        highest = max(highest, float(profile.max()))
    return out, highest


def base_load(
    p_mw: np.ndarray, q_mvar: np.ndarray, profiles: list[str], starts: np.ndarray, timezone: str
) -> tuple[np.ndarray, np.ndarray]:
    """Active and reactive power (MW, Mvar) per (step, load)."""
    p = np.empty((len(starts), len(p_mw)))
    for name in sorted(set(profiles)):
        shares, highest = _shares(starts, timezone, name)
        columns = [i for i, own in enumerate(profiles) if own == name]
        p[:, columns] = np.outer(shares / highest, p_mw[columns])
    ratio = np.divide(q_mvar, p_mw, out=np.zeros_like(p_mw), where=p_mw != 0)
    return p, p * ratio


def meter_fed_load(
    p_mw: np.ndarray,
    q_mvar: np.ndarray,
    profiles: list[str],
    starts: np.ndarray,
    timezone: str,
    household_kwh: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Like base_load, but the household (H25) loads follow the district's average metered household.

    ``household_kwh`` is the average household's kWh per step (NaN: too few meters reported; that step
    keeps the standard profile). The measured values become shares of the profile's year: divided by the
    household's yearly consumption estimated from the measured steps (their kWh over the profile's share of
    those steps), so over the measured steps each load draws the energy it draws on the standard profile
    and keeps SimBench's scale (``p_mw`` at the profile's highest quarter hour); the meters decide when the
    energy is drawn and how high the peaks are.
    """
    p, _q = base_load(p_mw, q_mvar, profiles, starts, timezone)
    measured = ~np.isnan(household_kwh)
    columns = [i for i, own in enumerate(profiles) if own == "H25"]
    if measured.any() and columns:
        shares, highest = _shares(starts, timezone, "H25")
        yearly_kwh = float(household_kwh[measured].sum()) / float(shares[measured].sum())
        metered = household_kwh[measured] / yearly_kwh
        rows = np.flatnonzero(measured)
        p[np.ix_(rows, np.asarray(columns))] = np.outer(metered / highest, p_mw[columns])
    ratio = np.divide(q_mvar, p_mw, out=np.zeros_like(p_mw), where=p_mw != 0)
    return p, p * ratio
