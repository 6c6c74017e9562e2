"""Which data the city publishes as open data, and reading it month by month.

A dataset is one asset type that is not personal, with those of its Datastreams whose access level in the
SensorThings store is ``public``: both conditions, so a household meter's stream can never appear, even
if a type were declared wrongly or a stream's policy changed. Months are calendar months of the city's
time zone. Rows are read Datastream by Datastream (a chunk of them per query, in the order of the index on
``(datastream_id, phenomenon_time)``) as a server-side stream, so a month of millions of readings is never
held in memory at once.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.contracts import AssetType, DatastreamType
from stadtkern.core.i18n import gettext as _
from stadtkern.sensorthings import models as sta
from stadtkern.twin.models import ASSET_DATASTREAMS, ASSETS
from stadtkern.twin.opendata.disclosure import is_count, suppressed

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# Datastreams per query when reading a month: enough to keep the query count low, small enough that
# each query walks the (datastream_id, phenomenon_time) index.
STREAM_CHUNK = 50
# Rows fetched from the database cursor at a time.
FETCH_ROWS = 5000
# The catalogue lists at most this many months per dataset (older ones stay downloadable by URL).
LISTED_MONTHS = 12
PUBLIC = "public"


class OpenDataError(Exception):
    """A request for data that cannot be answered: ``status`` 400 (malformed) or 404 (unknown)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Dataset:
    """One asset type's public data: its public Datastream keys and the months that hold readings."""

    type: AssetType
    streams: tuple[DatastreamType, ...]
    assets: int
    first: datetime | None
    last: datetime | None
    # "YYYY-MM", newest first
    months: tuple[str, ...]

    @property
    def key(self) -> str:
        return self.type.key


class Reading(NamedTuple):
    """One published observation (``value`` None when suppressed). A tuple: months have millions."""

    time: datetime
    asset: str
    name: str
    district: str
    lon: float
    lat: float
    stream: str
    value: float | int | str | None
    unit: str
    suppressed: bool


@dataclass(frozen=True)
class SiteRow:
    code: str
    name: str
    district: str
    organisation: str
    lon: float
    lat: float
    streams: str


def month_bounds(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC start (inclusive) and end (exclusive) of a local calendar month given as ``YYYY-MM``."""
    match = MONTH.match(month)
    if not match:
        raise OpenDataError(
            400, _("Monat „%(month)s“ ist ungültig: erwartet wird JJJJ-MM, z. B. 2026-11.", month=month)
        )
    year, number = int(match.group(1)), int(match.group(2))
    if not 1 <= number <= 12 or year < 1970:
        raise OpenDataError(
            400, _("Monat „%(month)s“ gibt es nicht: der Monat muss zwischen 01 und 12 liegen.", month=month)
        )
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def months_between(first: datetime, last: datetime, zone: ZoneInfo) -> list[str]:
    """Every local month from ``first`` to ``last`` (inclusive), newest first."""
    current = first.astimezone(zone).date().replace(day=1)
    stop = last.astimezone(zone).date().replace(day=1)
    months: list[str] = []
    while current <= stop:
        months.append(f"{current.year:04d}-{current.month:02d}")
        current = date(current.year + (current.month == 12), current.month % 12 + 1, 1)
    return months[::-1]


def _public_streams_of(type_keys: Sequence[str]) -> Any:
    return (
        ASSET_DATASTREAMS.join(ASSETS, ASSETS.c.id == ASSET_DATASTREAMS.c.asset_id).join(
            sta.DATASTREAMS, sta.DATASTREAMS.c.id == ASSET_DATASTREAMS.c.datastream_id
        ),
        [
            ASSETS.c.type_key.in_(list(type_keys)),
            sta.DATASTREAMS.c.access == PUBLIC,
        ],
    )


async def datasets(
    session: AsyncSession, types: Mapping[str, AssetType], *, now: datetime, zone: ZoneInfo
) -> list[Dataset]:
    """Every open dataset: non-personal asset types with at least one public Datastream."""
    candidates = [key for key, asset_type in types.items() if not asset_type.personal]
    if not candidates:
        return []
    joined, conditions = _public_streams_of(candidates)
    rows = (
        await session.execute(
            select(
                ASSETS.c.type_key,
                ASSET_DATASTREAMS.c.key,
                func.min(sta.DATASTREAMS.c.phenomenon_time_start),
                func.max(
                    func.coalesce(
                        sta.DATASTREAMS.c.phenomenon_time_end, sta.DATASTREAMS.c.phenomenon_time_start
                    )
                ),
                func.max(sta.DATASTREAMS.c.retention_days),
            )
            .select_from(joined)
            .where(*conditions)
            .group_by(ASSETS.c.type_key, ASSET_DATASTREAMS.c.key)
        )
    ).all()
    keys: dict[str, set[str]] = defaultdict(set)
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    for type_key, stream_key, start, end, retention_days in rows:
        keys[type_key].add(stream_key)
        if start is not None:
            if retention_days is not None:
                # what the retention job has deleted is no longer there to download
                start = max(start, now - timedelta(days=int(retention_days)))
            first[type_key] = min(first.get(type_key, start), start)
        if end is not None:
            last[type_key] = max(last.get(type_key, end), end)
    counts: dict[str, int] = dict(
        (
            await session.execute(
                select(ASSETS.c.type_key, func.count())
                .where(ASSETS.c.type_key.in_(candidates))
                .group_by(ASSETS.c.type_key)
            )
        ).all()
    )
    found = []
    for key in candidates:
        if not keys.get(key):
            continue
        asset_type = types[key]
        start, end = first.get(key), last.get(key)
        months = months_between(start, end, zone) if start and end and start <= end else []
        found.append(
            Dataset(
                type=asset_type,
                streams=tuple(s for s in asset_type.datastreams if s.key in keys[key]),
                assets=int(counts.get(key, 0)),
                first=start,
                last=end,
                months=tuple(months),
            )
        )
    return found


def find_dataset(found: Sequence[Dataset], key: str) -> Dataset:
    for dataset in found:
        if dataset.key == key:
            return dataset
    raise OpenDataError(
        404, _("Einen Datensatz „%(key)s“ gibt es nicht. Die Liste steht unter /opendata.", key=key)
    )


def check_month(dataset: Dataset, month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC bounds of ``month``, which must be one in which the dataset holds readings."""
    bounds = month_bounds(month, zone)
    if month not in dataset.months:
        message = _("Für „%(key)s“ gibt es im Monat %(month)s keine Daten.", key=dataset.key, month=month)
        if dataset.months:
            message += " " + _(
                "Vorhanden: %(first)s bis %(last)s.", first=dataset.months[-1], last=dataset.months[0]
            )
        raise OpenDataError(404, message)
    return bounds


async def read_month(
    session: AsyncSession, dataset: Dataset, start: datetime, end: datetime
) -> AsyncIterator[list[Reading]]:
    """The dataset's readings with ``start <= phenomenon time < end`` in blocks, Datastream by Datastream.

    Count Datastreams have small counts suppressed (see ``disclosure``). Only Datastreams whose stored
    access level is ``public`` are read.
    """
    joined, conditions = _public_streams_of([dataset.key])
    streams = (
        await session.execute(
            select(
                sta.DATASTREAMS.c.id,
                sta.DATASTREAMS.c.observation_type,
                sta.DATASTREAMS.c.unit_of_measurement,
                ASSET_DATASTREAMS.c.key,
                ASSETS.c.code,
                ASSETS.c.name,
                ASSETS.c.district_code,
                ASSETS.c.lon,
                ASSETS.c.lat,
            )
            .select_from(joined)
            .where(*conditions, ASSET_DATASTREAMS.c.key.in_([s.key for s in dataset.streams]))
            .order_by(sta.DATASTREAMS.c.id)
        )
    ).all()
    # What every row of a Datastream repeats: asset code, name, district, lon, lat, key, unit; is it a count?
    info = {
        row.id: (
            (
                row.code,
                row.name,
                row.district_code,
                float(row.lon),
                float(row.lat),
                row.key,
                str((row.unit_of_measurement or {}).get("symbol", "")),
            ),
            is_count(row.observation_type),
        )
        for row in streams
    }
    ids = list(info)
    obs = sta.OBSERVATIONS.c
    for offset in range(0, len(ids), STREAM_CHUNK):
        chunk = ids[offset : offset + STREAM_CHUNK]
        result = await session.stream(
            select(
                obs.datastream_id, obs.phenomenon_time, obs.result_type, obs.result_number, obs.result_string
            )
            .where(obs.datastream_id.in_(chunk), obs.phenomenon_time >= start, obs.phenomenon_time < end)
            .order_by(obs.datastream_id, obs.phenomenon_time)
            .execution_options(yield_per=FETCH_ROWS)
        )
        async for partition in result.partitions(FETCH_ROWS):
            block = []
            for stream_id, time, result_type, number, text in partition:
                (code, name, district, lon, lat, key, unit), counts = info[stream_id]
                value: float | int | str | None
                if number is None:
                    value = text
                elif result_type == sta.RESULT_INT:
                    value = int(number)
                else:
                    value = float(number)
                hidden = counts and value is not None and not isinstance(value, str) and suppressed(value)
                block.append(
                    Reading(
                        time, code, name, district, lon, lat, key, None if hidden else value, unit, hidden
                    )
                )
            yield block


async def read_sites(
    session: AsyncSession, dataset: Dataset, organisations: Mapping[str, str]
) -> list[SiteRow]:
    """The dataset's assets (a few thousand at most): code, name, district, operator and position."""
    rows = (
        await session.execute(
            select(
                ASSETS.c.code,
                ASSETS.c.name,
                ASSETS.c.district_code,
                ASSETS.c.organisation,
                ASSETS.c.lon,
                ASSETS.c.lat,
            )
            .where(ASSETS.c.type_key == dataset.key)
            .order_by(ASSETS.c.code)
        )
    ).all()
    streams = " ".join(s.key for s in dataset.streams)
    return [
        SiteRow(
            r.code,
            r.name,
            r.district_code,
            organisations.get(r.organisation, r.organisation),
            r.lon,
            r.lat,
            streams,
        )
        for r in rows
    ]
