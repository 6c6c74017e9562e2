"""Loading a validated GTFS feed into the ``mob_`` tables, in bulk and in one transaction.

The new feed's rows are written and every earlier feed is deleted in the caller's transaction, so a
reader sees the old timetable until the commit and the new one after it, never a mix. The big tables go
through the driver's own bulk path (SQLite ``executemany``, PostgreSQL binary ``COPY``), as
``sensorthings.ingest.bulk_insert`` does; surrogate keys are assigned here (above every key in use), so
no row has to be read back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.clock import Clock
from stadtkern.core.i18n import gettext as _
from stadtkern.mobility import models as m
from stadtkern.mobility.errors import FeedInvalid
from stadtkern.mobility.gtfs import GtfsFeed, Problem, read_feed


@dataclass
class ImportResult:
    feed_id: int
    name: str
    counts: dict[str, int]
    warnings: list[Problem] = field(default_factory=list)
    valid_from: date | None = None
    valid_to: date | None = None
    seconds: float = 0.0


async def import_feed(
    session: AsyncSession, path: Path, clock: Clock, name: str | None = None
) -> ImportResult:
    """Validate ``path`` (zip or folder) and load it as the active feed; ``FeedInvalid`` lists the errors.

    The caller commits (or rolls back) the session.
    """
    feed = await asyncio.to_thread(read_feed, path)  # file reading and parsing: off the event loop
    if feed.errors:
        raise FeedInvalid(
            _("Der Fahrplan wurde nicht geladen: %(n)s Fehler.", n=len(feed.errors)),
            problems=list(feed.problems),
        )
    return await load_feed(session, feed, clock, source=str(path), name=name)


async def has_feed(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(m.Feed)))


async def load_feed(
    session: AsyncSession, feed: GtfsFeed, clock: Clock, source: str = "", name: str | None = None
) -> ImportResult:
    """Write a feed without errors; earlier feeds are deleted in the same transaction."""
    if feed.errors:
        raise FeedInvalid(_("Der Fahrplan enthält Fehler."), problems=list(feed.problems))
    started = time.perf_counter()
    connection = await session.connection()
    old_ids = list(await session.scalars(select(m.Feed.id)))
    bases = {t.__tablename__: await _next_id(session, t) for t in m.FEED_TABLES if t is not m.StopTime}
    record = m.Feed(
        name=name or feed.feed_info.get("publisher_name") or feed.name,
        source=source,
        imported_at=clock.now(),
        valid_from=feed.valid_from,
        valid_to=feed.valid_to,
        publisher_name=feed.feed_info.get("publisher_name", ""),
        version=feed.feed_info.get("version", ""),
        warnings=[p.as_dict() for p in feed.warnings],
        counts=feed.counts(),
        active=False,
    )
    session.add(record)
    await session.flush()
    feed_id = record.id
    if old_ids:
        old_trips = select(m.Trip.id).where(m.Trip.feed_id.in_(old_ids))
        await session.execute(delete(m.StopTime).where(m.StopTime.trip_pk.in_(old_trips)))
        for table in reversed(m.FEED_TABLES):
            if table is not m.StopTime:
                await session.execute(delete(table).where(table.__table__.c.feed_id.in_(old_ids)))
        await session.execute(delete(m.Feed).where(m.Feed.id.in_(old_ids)))

    agency0 = bases["mob_agencies"]
    stop0 = bases["mob_stops"]
    route0 = bases["mob_routes"]
    trip0 = bases["mob_trips"]
    fare0 = bases["mob_fare_attributes"]
    bulk = _Bulk(connection)
    await bulk.insert(
        "mob_agencies",
        ("id", "feed_id", "agency_id", "name", "url", "timezone", "lang", "phone", "fare_url"),
        (
            (
                agency0 + i,
                feed_id,
                a["agency_id"],
                a["name"],
                a["url"],
                a["timezone"],
                a["lang"],
                a["phone"],
                a["fare_url"],
            )
            for i, a in enumerate(feed.agencies)
        ),
    )
    await bulk.insert(
        "mob_stops",
        (
            "id",
            "feed_id",
            "stop_id",
            "code",
            "name",
            "description",
            "lat",
            "lon",
            "zone_id",
            "location_type",
            "parent_station_id",
            "parent_station",
            "platform_code",
            "wheelchair_boarding",
            "timezone",
        ),
        (
            (
                stop0 + i,
                feed_id,
                s["stop_id"],
                s["code"],
                s["name"],
                s["description"],
                s["lat"],
                s["lon"],
                s["zone_id"],
                s["location_type"],
                None if s["parent_index"] is None else stop0 + s["parent_index"],
                s["parent_station"],
                s["platform_code"],
                s["wheelchair_boarding"],
                s["timezone"],
            )
            for i, s in enumerate(feed.stops)
        ),
    )
    await bulk.insert(
        "mob_routes",
        (
            "id",
            "feed_id",
            "route_id",
            "agency_pk",
            "short_name",
            "long_name",
            "description",
            "route_type",
            "url",
            "color",
            "text_color",
            "sort_order",
        ),
        (
            (
                route0 + i,
                feed_id,
                r["route_id"],
                None if r["agency_index"] is None else agency0 + r["agency_index"],
                r["short_name"],
                r["long_name"],
                r["description"],
                r["route_type"],
                r["url"],
                r["color"],
                r["text_color"],
                r["sort_order"],
            )
            for i, r in enumerate(feed.routes)
        ),
    )
    await bulk.insert(
        "mob_trips",
        (
            "id",
            "feed_id",
            "trip_id",
            "route_pk",
            "service_id",
            "headsign",
            "short_name",
            "direction_id",
            "block_id",
            "shape_id",
            "wheelchair_accessible",
            "bikes_allowed",
        ),
        (
            (
                trip0 + i,
                feed_id,
                t["trip_id"],
                route0 + t["route_index"],
                t["service_id"],
                t["headsign"],
                t["short_name"],
                t["direction_id"],
                t["block_id"],
                t["shape_id"],
                t["wheelchair_accessible"],
                t["bikes_allowed"],
            )
            for i, t in enumerate(feed.trips)
        ),
    )
    await bulk.insert(
        "mob_stop_times",
        (
            "trip_pk",
            "stop_sequence",
            "stop_pk",
            "arrival",
            "departure",
            "stop_headsign",
            "pickup_type",
            "drop_off_type",
            "timepoint",
            "shape_dist_traveled",
        ),
        (
            (trip0 + trip, seq, stop0 + stop, arr, dep, head, pick, drop, tp, dist)
            for trip, seq, stop, arr, dep, head, pick, drop, tp, dist in feed.stop_times
        ),
        plain=True,
    )
    calendar_columns = ("service_id", *m_weekdays(), "start_date", "end_date")
    await bulk.insert(
        "mob_calendar",
        ("id", "feed_id", *calendar_columns),
        (
            (bases["mob_calendar"] + i, feed_id, *(c[k] for k in calendar_columns))
            for i, c in enumerate(feed.calendar)
        ),
    )
    await bulk.insert(
        "mob_calendar_dates",
        ("id", "feed_id", "service_id", "date", "exception_type"),
        (
            (bases["mob_calendar_dates"] + i, feed_id, c["service_id"], c["date"], c["exception_type"])
            for i, c in enumerate(feed.calendar_dates)
        ),
    )
    await bulk.insert(
        "mob_frequencies",
        ("id", "feed_id", "trip_pk", "start", "end", "headway_secs", "exact_times"),
        (
            (
                bases["mob_frequencies"] + i,
                feed_id,
                trip0 + f["trip_index"],
                f["start"],
                f["end"],
                f["headway_secs"],
                f["exact_times"],
            )
            for i, f in enumerate(feed.frequencies)
        ),
    )
    await bulk.insert(
        "mob_transfers",
        (
            "id",
            "feed_id",
            "from_stop_pk",
            "to_stop_pk",
            "transfer_type",
            "min_transfer_time",
            "from_route_pk",
            "to_route_pk",
            "from_trip_pk",
            "to_trip_pk",
        ),
        (
            (
                bases["mob_transfers"] + i,
                feed_id,
                stop0 + t["from_stop_index"],
                stop0 + t["to_stop_index"],
                t["transfer_type"],
                t["min_transfer_time"],
                _pk(route0, t.get("from_route_index")),
                _pk(route0, t.get("to_route_index")),
                _pk(trip0, t.get("from_trip_index")),
                _pk(trip0, t.get("to_trip_index")),
            )
            for i, t in enumerate(feed.transfers)
        ),
    )
    # Small tables with decimals: through SQLAlchemy, which stores Decimal the same way on both databases.
    if feed.fare_attributes:
        await session.execute(
            insert(m.FareAttribute),
            [{"id": fare0 + i, "feed_id": feed_id, **f} for i, f in enumerate(feed.fare_attributes)],
        )
    if feed.fare_rules:
        await session.execute(
            insert(m.FareRule),
            [
                {
                    "id": bases["mob_fare_rules"] + i,
                    "feed_id": feed_id,
                    "fare_pk": fare0 + r["fare_index"],
                    "route_pk": None if r["route_index"] is None else route0 + r["route_index"],
                    "origin_id": r["origin_id"],
                    "destination_id": r["destination_id"],
                    "contains_id": r["contains_id"],
                }
                for i, r in enumerate(feed.fare_rules)
            ],
        )
    record.active = True
    await session.flush()
    return ImportResult(
        feed_id=feed_id,
        name=record.name,
        counts=feed.counts(),
        warnings=feed.warnings,
        valid_from=feed.valid_from,
        valid_to=feed.valid_to,
        seconds=time.perf_counter() - started,
    )


def m_weekdays() -> tuple[str, ...]:
    return ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


async def _next_id(session: AsyncSession, table: Any) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(table.id), 0))) or 0) + 1


class _Bulk:
    """Rows straight to the driver: ``executemany`` on SQLite, binary ``COPY`` on PostgreSQL."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"

    async def insert(
        self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]], plain: bool = False
    ) -> None:
        """``plain``: the rows hold only numbers, text and None (no conversion needed on SQLite)."""
        raw = await self.connection.get_raw_connection()
        driver: Any = raw.driver_connection
        if self.postgres:
            await driver.copy_records_to_table(table, records=rows, columns=list(columns))
            return
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _c in columns)
        cursor = await driver.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({marks})",  # noqa: S608 - table and columns are constants of this module
            rows if plain else (tuple(_sqlite(v) for v in row) for row in rows),
        )
        await cursor.close()


def _sqlite(value: Any) -> Any:
    """Values as SQLAlchemy stores them on SQLite (dates as ISO text, booleans as 0/1)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


async def seed(session: AsyncSession, city_gtfs: Path, clock: Clock) -> ImportResult | None:
    """First start: load the city's own feed (``cities/<city>/gtfs/``) when no timetable is loaded yet.

    Nothing happens when a feed is loaded already, the folder does not exist, or the module's tables
    are not there yet (a database older than the module's migration: ``stadtkern migrate`` adds them).
    """
    connection = await session.connection()
    tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
    if "mob_feeds" not in tables or await has_feed(session):
        return None
    feed = await asyncio.to_thread(_read_folder, city_gtfs)
    if feed is None:
        return None
    if feed.errors:
        raise FeedInvalid(
            _("Der Fahrplan der Stadt (%(path)s) enthält Fehler.", path=str(city_gtfs)),
            problems=list(feed.problems),
        )
    return await load_feed(session, feed, clock, source=str(city_gtfs))


def _read_folder(path: Path) -> GtfsFeed | None:
    return read_feed(path) if path.is_dir() else None


def _pk(base: int, index: int | None) -> int | None:
    """The primary key of row ``index`` of a table whose keys start at ``base`` (None stays None)."""
    return None if index is None else base + index
