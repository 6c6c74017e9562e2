"""What-if scenarios: extra heat pumps, wallboxes and PV on the study grid, placed deterministically.

Profiles are simple documented shapes (docs/energy.md, "Grid analysis"); all powers in kW, positive = drawn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from stadtkern.core.i18n import gettext as _

HEAT_PUMP_KW = 3.0  # electrical input at the design temperature
WALLBOX_KW = 11.0
WALLBOX_KWH_PER_DAY = 7.0
PV_SYSTEM_KWP = 10.0  # PV is split into systems of this size (the last one smaller)
LATITUDE, LONGITUDE = 51.43, 6.76  # Duisburg
MAX_UNITS = 1000
MAX_PV_KW = 5000.0


class ScenarioError(ValueError):
    """Bad scenario input; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Scenario:
    heat_pumps: int = 0
    wallboxes: int = 0
    pv_kw: float = 0.0

    @property
    def is_base(self) -> bool:
        return self.heat_pumps == 0 and self.wallboxes == 0 and self.pv_kw == 0

    def as_dict(self) -> dict[str, Any]:
        return {"heat_pumps": self.heat_pumps, "wallboxes": self.wallboxes, "pv_kw": self.pv_kw}


def _count(data: Mapping[str, Any], field: str) -> int:
    value = data.get(field, 0)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ScenarioError(field, _("muss eine ganze Zahl sein"))
    try:
        number = int(value)
    except ValueError:
        raise ScenarioError(field, _("muss eine ganze Zahl sein")) from None
    if not 0 <= number <= MAX_UNITS:
        raise ScenarioError(field, _("muss zwischen 0 und %(max)s liegen", max=MAX_UNITS))
    return number


def parse_scenario(data: Mapping[str, Any]) -> Scenario:
    """A scenario from user input (CLI, job payload); refuses unknown fields and bad values by name."""
    unknown = sorted(set(data) - {"heat_pumps", "wallboxes", "pv_kw"})
    if unknown:
        raise ScenarioError(unknown[0], _("unbekanntes Feld"))
    raw = data.get("pv_kw", 0.0)
    if isinstance(raw, bool):
        raise ScenarioError("pv_kw", _("muss eine Zahl sein"))
    try:
        pv_kw = float(raw)
    except (TypeError, ValueError):
        raise ScenarioError("pv_kw", _("muss eine Zahl sein")) from None
    if not math.isfinite(pv_kw) or not 0 <= pv_kw <= MAX_PV_KW:
        raise ScenarioError("pv_kw", _("muss zwischen 0 und %(max)s kW liegen", max=int(MAX_PV_KW)))
    return Scenario(_count(data, "heat_pumps"), _count(data, "wallboxes"), pv_kw)


def placement(units: int, loads: int) -> np.ndarray:
    """The load index of each unit: spread over the grid with a stride coprime to the number of loads."""
    stride = next(s for s in (7, 11, 13, 17, 19, 23, 1) if math.gcd(s, loads) == 1)
    return (np.arange(units) * stride) % loads


def _hours_utc(starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Day of year and UTC hour (fractional) of each step's start."""
    days = starts.astype("datetime64[D]")
    doy = (days - days.astype("datetime64[Y]")).astype(int) + 1
    hours = (starts - days).astype("timedelta64[s]").astype(float) / 3600.0
    return doy.astype(float), hours


def heat_pump_kw(starts: np.ndarray) -> np.ndarray:
    """One heat pump: input power follows the heating degree of a smooth daily mean temperature
    (10.5 °C mean, ±9.5 K over the year, coldest on 20 January), full power at -12 °C, off from 15 °C,
    20 % more in the morning (06-09 local) than the day's mean."""
    doy, hours = _hours_utc(starts)
    temperature = 10.5 - 9.5 * np.cos(2 * np.pi * (doy - 20) / 365.0)
    degree = np.clip((15.0 - temperature) / 27.0, 0.0, 1.0)
    morning = ((hours + 1) % 24 >= 6) & ((hours + 1) % 24 < 9)
    return np.asarray(HEAT_PUMP_KW * degree * np.where(morning, 1.2, 0.96))


def wallbox_kw(starts: np.ndarray, unit: int) -> np.ndarray:
    """One wallbox: 7 kWh a day at 11 kW from arrival; arrivals 17:00, 17:30, ... 19:30 UTC by unit."""
    _doy, hours = _hours_utc(starts)
    arrival = 17.0 + 0.5 * (unit % 6)
    since = (hours - arrival) % 24.0  # hours since today's arrival (quarter-hour steps)
    full = WALLBOX_KWH_PER_DAY / WALLBOX_KW  # hours at full power
    power = np.where(since + 0.25 <= full, WALLBOX_KW, 0.0)
    partial = (since < full) & (since + 0.25 > full)
    return np.asarray(np.where(partial, WALLBOX_KW * (full - since) / 0.25, power))


def pv_kw_per_kwp(starts: np.ndarray) -> np.ndarray:
    """Clear-sky output per kWp at the middle of each quarter hour: 0.8 × sin(solar elevation)^1.2
    (an upper bound: no clouds)."""
    doy, hours = _hours_utc(starts)
    hours = hours + 0.125
    declination = np.radians(23.44) * np.sin(2 * np.pi * (284 + doy) / 365.0)
    hour_angle = np.radians(15.0 * (hours + LONGITUDE / 15.0 - 12.0))
    lat = np.radians(LATITUDE)
    sin_h = np.sin(lat) * np.sin(declination) + np.cos(lat) * np.cos(declination) * np.cos(hour_angle)
    return np.asarray(0.8 * np.clip(sin_h, 0.0, None) ** 1.2)


def extra_kw(scenario: Scenario, starts: np.ndarray, loads: int) -> np.ndarray:
    """Net added power per (step, load) in kW: heat pumps and wallboxes draw, PV feeds in (negative)."""
    out = np.zeros((len(starts), loads))
    if scenario.heat_pumps:
        profile = heat_pump_kw(starts)
        for load in placement(scenario.heat_pumps, loads):
            out[:, load] += profile
    for unit, load in enumerate(placement(scenario.wallboxes, loads)):
        out[:, load] += wallbox_kw(starts, unit)
    if scenario.pv_kw:
        systems = [PV_SYSTEM_KWP] * int(scenario.pv_kw // PV_SYSTEM_KWP)
        rest = scenario.pv_kw - PV_SYSTEM_KWP * len(systems)
        if rest > 1e-9:
            systems.append(rest)
        shape = pv_kw_per_kwp(starts)
        for kwp, load in zip(systems, placement(len(systems), loads), strict=True):
            out[:, load] -= kwp * shape
    return out
