"""Load source "Zählerdaten des Stadtbezirks": the district's household meters summed per quarter hour.

The sum is computed inside the database (one ``GROUP BY`` over the observations of all household
consumption Datastreams of the Stadtbezirk, ``HAVING`` at least ``MIN_METERS`` readings); no single
household's series is ever loaded into Python, stored or shown. Quarter hours with fewer readings are not
returned and fall back to the standard profile (see profiles.meter_fed_load).

Units: a household meter's ``energy`` Datastream holds the energy drawn in each quarter hour in Wh, stamped
with the end of the quarter hour (energy/asset_types.py, energy/simulation.py), not a cumulative register.
The average household's power over a quarter hour is ``Wh / 1000 × 4`` kW.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.i18n import gettext as _
from stadtkern.energy.activation import METER_STREAM, METER_TYPE
from stadtkern.energy.grid.scenarios import ScenarioError
from stadtkern.energy.timegrid import QUARTER_SECONDS, quarter_ends, to_datetime64
from stadtkern.sensorthings import models as m
from stadtkern.twin.models import ASSET_DATASTREAMS, ASSETS

# Privacy floor: fewer meters than this in the district, or reporting in a quarter hour, and their sum is
# not used (a sum over very few households would come close to one household's consumption).
MIN_METERS = 10
PROFILES = "profiles"
METERS = "meters"
LOAD_SOURCES = (PROFILES, METERS)
WATT_HOUR = "Wh"


@dataclass(frozen=True)
class DistrictAggregate:
    """Per quarter hour (``ends``, UTC datetime64[s]) the summed Wh and the number of meters reporting;
    quarter hours with fewer than MIN_METERS readings hold 0 and 0 (the database does not return them)."""

    district_code: str
    meters: int  # household consumption Datastreams in the district
    ends: np.ndarray
    total_wh: np.ndarray  # 0 where nothing was reported
    reporting: np.ndarray  # readings per quarter hour

    @property
    def usable(self) -> np.ndarray:
        return np.asarray(self.reporting >= MIN_METERS)

    def average_kwh(self) -> np.ndarray:
        """kWh of the average reporting household per quarter hour; NaN where fewer than ``MIN_METERS``
        meters reported (those quarter hours fall back to the standard profile)."""
        usable = self.usable
        out = np.full(len(self.ends), np.nan)
        out[usable] = self.total_wh[usable] / self.reporting[usable] / 1000.0
        if usable.any() and float(out[usable].sum()) <= 0.0:
            out[:] = np.nan  # nothing drawn at all: no shape to scale, use the profile throughout
        return out


async def meter_streams(session: AsyncSession, district_code: str) -> list[int]:
    """The consumption Datastreams of the district's household meters (not a PV feed-in stream)."""
    rows = (
        await session.execute(
            select(ASSET_DATASTREAMS.c.datastream_id, m.DATASTREAMS.c.unit_of_measurement)
            .join(ASSETS, ASSETS.c.id == ASSET_DATASTREAMS.c.asset_id)
            .join(m.DATASTREAMS, m.DATASTREAMS.c.id == ASSET_DATASTREAMS.c.datastream_id)
            .where(
                ASSETS.c.type_key == METER_TYPE,
                ASSETS.c.district_code == district_code,
                ASSET_DATASTREAMS.c.key == METER_STREAM,
            )
            .order_by(ASSET_DATASTREAMS.c.datastream_id)
        )
    ).all()
    units = sorted({str((unit or {}).get("symbol")) for _id, unit in rows} - {WATT_HOUR})
    if units:
        raise ScenarioError(
            "load_source",
            _("Die Haushaltszähler melden in %(units)s statt in Wh; so lassen sie sich nicht summieren.",
              units=", ".join(units)),
        )  # fmt: skip
    return [int(ident) for ident, _unit in rows]


def too_few(district_code: str, meters: int) -> ScenarioError:
    return ScenarioError(
        "load_source",
        _(
            "Im Stadtbezirk %(district)s gibt es %(meters)s Haushaltszähler; Zählerdaten werden erst ab "
            "%(min)s Zählern verwendet (nur Summen über viele Haushalte). Bitte Standardlastprofile wählen.",
            district=district_code,
            meters=meters,
            min=MIN_METERS,
        ),
    )


async def check_district(session: AsyncSession, district_code: str) -> int:
    """The number of household meters in the district; refuses fewer than ``MIN_METERS``."""
    count = len(await meter_streams(session, district_code))
    if count < MIN_METERS:
        raise too_few(district_code, count)
    return count


async def district_aggregate(
    session: AsyncSession, district_code: str, start: datetime, end: datetime
) -> DistrictAggregate:
    """Sum and count of the district's household readings per quarter hour ending in ``(start, end]``, for
    the quarter hours with at least MIN_METERS readings."""
    streams = await meter_streams(session, district_code)
    if len(streams) < MIN_METERS:
        raise too_few(district_code, len(streams))
    ends = quarter_ends(start, end)
    total = np.zeros(len(ends))
    reporting = np.zeros(len(ends), dtype=np.int64)
    obs = m.OBSERVATIONS
    rows = (
        await session.execute(
            select(obs.c.phenomenon_time, func.sum(obs.c.result_number), func.count(obs.c.result_number))
            .where(
                obs.c.datastream_id.in_(streams),
                obs.c.phenomenon_time > start,
                obs.c.phenomenon_time <= end,
                obs.c.result_type.in_((m.RESULT_FLOAT, m.RESULT_INT)),
            )
            .group_by(obs.c.phenomenon_time)
            # The database hands out no sum over fewer than MIN_METERS readings.
            .having(func.count(obs.c.result_number) >= MIN_METERS)
        )
    ).all()
    if rows:
        base = int(to_datetime64(start).astype("int64"))
        seconds = np.fromiter((int(t.timestamp()) for t, _s, _n in rows), dtype=np.int64, count=len(rows))
        sums = np.fromiter((float(s or 0.0) for _t, s, _n in rows), dtype=float, count=len(rows))
        counts = np.fromiter((int(n) for _t, _s, n in rows), dtype=np.int64, count=len(rows))
        index = (seconds - base) // QUARTER_SECONDS - 1
        # Readings off the quarter-hour grid are not a quarter hour's energy: left out.
        ok = (index >= 0) & (index < len(ends)) & ((seconds - base) % QUARTER_SECONDS == 0)
        np.add.at(total, index[ok], sums[ok])
        np.add.at(reporting, index[ok], counts[ok])
    return DistrictAggregate(district_code, len(streams), ends, total, reporting)
