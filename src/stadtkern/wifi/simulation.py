"""Simulated public WLAN hotspots: logins and data volume with daily and weekly rhythm per place.

Calibrated on seed 001 (Duisburg's public WLAN: over 100,000 logins and over 5 TB a month at 12 places):
the 12 places together average :data:`CITY_LOGINS_PER_DAY` logins and :data:`CITY_GB_PER_DAY` GB a day, so
any month (28 to 31 days) lands between the seed's figures and 20 % above them. Each place has a
weight (its share) and a rhythm (station, shopping street, leisure, culture, office).

Unique visitors per day come from the simulated hotspot controller (:class:`HotspotController`): it hashes
each login's device id with a salt that changes every day, counts the distinct hashes and throws salt and
hashes away. Only the count leaves the controller; Stadtkern never sees a device identifier.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from stadtkern.simulator import randomness
from stadtkern.simulator.base import DailyGenerator, smooth_daily
from stadtkern.simulator.protocol import Asset, SimulationContext
from stadtkern.simulator.timegrid import SLOTS, Day, day_grid

# Seed 001: >= 100,000 logins and >= 5 TB a month; we aim inside [figure, figure + 20 %] for 28..31 days.
CITY_LOGINS_PER_DAY = 3720.0  # 104,160 in February, 115,320 in a 31-day month
CITY_GB_PER_DAY = 186.0  # 5.21 TB in February, 5.77 TB in a 31-day month
PLACES = 12


@dataclass(frozen=True)
class Rhythm:
    """When people use a place: relative logins per local hour (24 knots) and per weekday (Mon..Sun)."""

    hours: tuple[float, ...]
    weekdays: tuple[float, ...]
    mb_per_login: float


RHYTHMS = {
    "station": Rhythm(
        (2, 1, 1, 1, 2, 5, 9, 12, 10, 7, 6, 6, 7, 7, 7, 8, 10, 12, 10, 8, 6, 5, 4, 3),
        (1.0, 1.0, 1.0, 1.0, 1.1, 0.95, 0.8),
        70.0,
    ),
    "coach": Rhythm(
        (5, 4, 3, 3, 3, 4, 6, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 8, 8, 8, 7, 6),
        (0.9, 0.85, 0.85, 0.9, 1.2, 1.1, 1.2),
        110.0,
    ),
    "shopping": Rhythm(
        (0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1, 2, 5, 8, 10, 11, 11, 10, 10, 10, 10, 9, 6, 3, 1.5, 0.8, 0.4),
        (0.95, 0.95, 0.95, 1.0, 1.15, 1.45, 0.55),
        40.0,
    ),
    "leisure": Rhythm(
        (0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1, 2, 5, 8, 10, 11, 11, 11, 10, 9, 8, 7, 6, 5, 3, 1.5, 0.7),
        (0.75, 0.75, 0.8, 0.85, 1.0, 1.45, 1.4),
        50.0,
    ),
    "culture": Rhythm(
        (1.5, 0.8, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2, 3, 4, 5, 6, 6, 6, 6, 7, 9, 11, 12, 12, 10, 6, 3),
        (0.75, 0.85, 0.95, 1.0, 1.2, 1.35, 0.9),
        45.0,
    ),
    "office": Rhythm(
        (1, 1, 1, 1, 1, 1, 5, 40, 100, 120, 120, 110, 100, 100, 90, 80, 60, 30, 10, 5, 2, 1, 1, 1),
        (1.35, 1.35, 1.3, 1.5, 1.1, 0.05, 0.05),
        25.0,
    ),
}


@dataclass(frozen=True)
class Place:
    match: tuple[str, ...]  # lower-case parts of the hotspot's name that identify it
    rhythm: str
    weight: float  # share of the city's logins; the 12 places of seed 001 add up to 12


# The 12 places of seed 001 (names as the city profile spells them; matched case-insensitively).
PLACE_TABLE = (
    Place(("bahnhofsvorplat",), "station", 2.0),
    Place(("fernbus",), "coach", 1.2),
    Place(("kö-duisburg", "koe-duisburg", "kö duisburg", "königsgalerie", "königstraße"), "shopping", 1.6),
    Place(("innenhafen", "hafenforum"), "leisure", 1.2),
    Place(("zoo",), "leisure", 1.0),
    Place(("hamborn",), "shopping", 0.9),
    Place(("knüllermarkt", "knuellermarkt"), "shopping", 0.8),
    Place(("michaelplatz",), "shopping", 0.7),
    Place(("oper", "stadttheater"), "culture", 0.8),
    Place(("regattabahn",), "leisure", 0.6),
    Place(("ksc", "kunden service", "kundenservice"), "office", 0.6),
    Place(("straßenverkehrsamt", "strassenverkehrsamt"), "office", 0.6),
)
DEFAULT_PLACE = Place((), "shopping", 1.0)
LOGINS_PER_WEIGHT = CITY_LOGINS_PER_DAY / sum(p.weight for p in PLACE_TABLE)
# Scales every rhythm's MB per login so that the 12 places together reach CITY_GB_PER_DAY.
_MB_SCALE = (
    CITY_GB_PER_DAY
    * 1000.0
    / sum(LOGINS_PER_WEIGHT * p.weight * RHYTHMS[p.rhythm].mb_per_login for p in PLACE_TABLE)
)
VOLUME_SIGMA = 0.35  # log-normal spread of the data volume per quarter hour
EXTRA_LOGINS_PER_VISITOR = 0.6  # a visitor logs in 1 + Poisson(0.6) times a day (session time-outs)
REGULAR_SHARE = 0.55  # share of visitors who come again and again (commuters, staff, neighbours)


def place_of(asset: Asset) -> Place:
    """The hotspot's place in the table (by its name or code), its rhythm overridden by the property
    ``profile`` and its weight by ``weight``."""
    profile = asset.properties.get("profile")
    weight = asset.properties.get("weight")
    name = f"{asset.name} {asset.code}".lower()
    place = next((p for p in PLACE_TABLE if any(part in name for part in p.match)), DEFAULT_PLACE)
    if isinstance(profile, str) and profile in RHYTHMS:
        place = Place(place.match, profile, place.weight)
    if isinstance(weight, int | float) and not isinstance(weight, bool) and weight > 0:
        place = Place(place.match, place.rhythm, float(weight))
    return place


def _shape(rhythm: Rhythm, hours: np.ndarray) -> np.ndarray:
    """Share of a day's logins in the quarter hour ending at each local hour (sums to 1 over a day)."""
    knots = list(rhythm.hours)
    reference = smooth_daily(np.arange(SLOTS) / 4.0, knots).sum()
    result: np.ndarray = smooth_daily((hours - 0.125) % 24.0, knots) / reference
    return result


class HotspotController:
    """The hotspot controller's visitor count: daily-rotating salted hashes, discarded after counting.

    ``count_unique`` is given the device ids of one day's logins (as the controller sees them in the
    radio layer), hashes each with the day's salt, counts the distinct hashes and returns only that count;
    the salt and the hashes are local to the call and gone afterwards.
    """

    def count_unique(self, device_ids: Iterable[str], salt: bytes) -> int:
        seen = {hashlib.sha256(salt + device.encode()).digest() for device in device_ids}
        count = len(seen)
        seen.clear()
        return count


CONTROLLER = HotspotController()


class WifiHotspots(DailyGenerator):
    asset_type = "wifi_hotspot"
    integer_keys = frozenset({"logins", "unique_visitors"})
    gaps_per_day = 1 / 120
    gap_slots = (2, 12)

    def logins(self, asset: Asset, grid: Day, context: SimulationContext) -> np.ndarray:
        place = place_of(asset)
        rhythm = RHYTHMS[place.rhythm]
        weekdays = np.array(rhythm.weekdays)
        per_day = LOGINS_PER_WEIGHT * place.weight * weekdays[grid.weekday] / weekdays.mean()
        expected = per_day * _shape(rhythm, grid.hour)
        draw = randomness.rng(context.seed, asset.code, "logins", grid.day)
        result: np.ndarray = draw.poisson(expected).astype(float)
        return result

    def day(self, asset: Asset, grid: Day, context: SimulationContext) -> Mapping[str, np.ndarray]:
        place = place_of(asset)
        logins = self.logins(asset, grid, context)
        draw = self.day_rng(asset, grid, context)
        noise = draw.lognormal(-(VOLUME_SIGMA**2) / 2, VOLUME_SIGMA, SLOTS)
        megabytes = RHYTHMS[place.rhythm].mb_per_login * _MB_SCALE
        volume = logins * megabytes / 1000.0 * noise
        visitors = np.full(SLOTS, np.nan)
        for index in np.nonzero(grid.local_midnight)[0].tolist():
            visitors[index] = self.unique_visitors(asset, grid, index, context)
        return {"logins": logins, "data_volume": volume, "unique_visitors": visitors}

    def unique_visitors(self, asset: Asset, grid: Day, midnight: int, context: SimulationContext) -> int:
        """The controller's count for the local day that ends at the slot ``midnight`` of the grid."""
        previous = day_grid(grid.day - timedelta(days=1), context.timezone)
        before = np.nonzero(previous.local_midnight)[0]
        start = int(before[-1]) + 1 if len(before) else 0
        # Quarter hours stamped after the previous local midnight, up to and including this one.
        total = int(self.logins(asset, previous, context)[start:].sum())
        total += int(self.logins(asset, grid, context)[: midnight + 1].sum())
        local_day = (grid.times[midnight].astimezone(context.timezone) - timedelta(minutes=1)).date()
        draw = randomness.rng(context.seed, asset.code, "devices", local_day)
        regulars = max(50, int(total * 1.5))
        devices: list[str] = []
        while len(devices) < total:
            if draw.random() < REGULAR_SHARE:
                device = f"{asset.code}-regular-{int(draw.zipf(1.3)) % regulars}"
            else:
                device = f"{asset.code}-{local_day.isoformat()}-{len(devices)}"
            devices.extend([device] * (1 + int(draw.poisson(EXTRA_LOGINS_PER_VISITOR))))
        salt = draw.bytes(16)  # the controller's salt of the day, never stored
        return CONTROLLER.count_unique(devices[:total], salt)


GENERATORS = [WifiHotspots()]
