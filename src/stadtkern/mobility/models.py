"""Tables of the timetable: one loaded GTFS feed (static schedule) and GTFS-Realtime trip updates.

Every static table carries ``feed_id``; a new import loads the new feed and deletes the previous one in
the same transaction, so readers always see exactly one complete timetable (``Feed.active``).

Conventions the planner and the fares code rely on:

- Surrogate integer keys (``id``) are what other tables point to; the feed's own identifiers are kept
  next to them (``stop_id``, ``route_id``, ``trip_id``, ...) for display, realtime matching and fares.
- Times of day are INTEGER seconds after midnight of the service day ("noon minus 12 h"); GTFS allows
  values past 24:00:00 for trips that run after midnight, so 25:10:00 is 90600.
- ``StopTime.arrival``/``departure`` are never NULL: times GTFS leaves empty between timepoints are
  interpolated on import (``timepoint`` then is 0).
- Dates are ``date`` values (service days, local time of the agency).
- Nothing here is personal data.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from stadtkern.db.base import Base

# location_type (stops.txt)
STOP = 0
STATION = 1
ENTRANCE = 2
GENERIC_NODE = 3
BOARDING_AREA = 4

# Realtime schedule relationships (GTFS-Realtime names)
SCHEDULED = "SCHEDULED"
ADDED = "ADDED"
UNSCHEDULED = "UNSCHEDULED"
CANCELED = "CANCELED"
SKIPPED = "SKIPPED"
NO_DATA = "NO_DATA"


class Feed(Base):
    """One imported GTFS feed; at most one is ``active`` (the one the planner uses)."""

    __tablename__ = "mob_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))  # file or folder name, or feed_info publisher
    source: Mapped[str] = mapped_column(String(1000), default="")
    imported_at: Mapped[datetime]
    # First and last service day covered by calendar.txt / calendar_dates.txt.
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    publisher_name: Mapped[str] = mapped_column(String(300), default="")
    version: Mapped[str] = mapped_column(String(100), default="")
    # Warnings of the validator: [{"code", "file", "row", "field", "message"}].
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    # Row counts per file, e.g. {"stops.txt": 10000}.
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(default=True)


class Agency(Base):
    __tablename__ = "mob_agencies"
    __table_args__ = (UniqueConstraint("feed_id", "agency_id", name="uq_mob_agencies_feed_agency"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    feed_id: Mapped[int] = mapped_column(ForeignKey("mob_feeds.id", ondelete="CASCADE"))
    agency_id: Mapped[str] = mapped_column(String(255), default="")  # may be empty with one agency
    name: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(500), default="")
    timezone: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(16), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    fare_url: Mapped[str] = mapped_column(String(500), default="")


class Stop(Base):
    """A stop, platform, station, entrance, generic node or boarding area (``location_type``)."""

    __tablename__ = "mob_stops"
    __table_args__ = (
        UniqueConstraint("feed_id", "stop_id", name="uq_mob_stops_feed_stop"),
        Index("ix_mob_stops_parent", "parent_station_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    feed_id: Mapped[int] = mapped_column(ForeignKey("mob_feeds.id", ondelete="CASCADE"))
    stop_id: Mapped[str] = mapped_column(String(255))
    code: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    # WGS 84; only generic nodes and boarding areas may lack them.
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    zone_id: Mapped[str] = mapped_column(String(255), default="")  # fare zone (fare_rules.txt)
    location_type: Mapped[int] = mapped_column(Integer, default=STOP)
    # The station (location_type 1) this stop belongs to: surrogate key, and the feed's id.
    parent_station_id: Mapped[int | None] = mapped_column(Integer)
    parent_station: Mapped[str] = mapped_column(String(255), default="")
    platform_code: Mapped[str] = mapped_column(String(64), default="")
    wheelchair_boarding: Mapped[int] = mapped_column(Integer, default=0)  # 0 unknown, 1 yes, 2 no
    timezone: Mapped[str] = mapped_column(String(64), default="")


class Route(Base):
    __tablename__ = "mob_routes"
    __table_args__ = (UniqueConstraint("feed_id", "route_id", name="uq_mob_routes_feed_route"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    feed_id: Mapped[int] = mapped_column(ForeignKey("mob_feeds.id", ondelete="CASCADE"))
    route_id: Mapped[str] = mapped_column(String(255))
    agency_pk: Mapped[int | None] = mapped_column(Integer)  # mob_agencies.id
    short_name: Mapped[str] = mapped_column(String(100), default="")  # "901", "U79"
    long_name: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    route_type: Mapped[int] = mapped_column(Integer)  # 0 tram, 1 subway, 2 rail, 3 bus, ...
    url: Mapped[str] = mapped_column(String(500), default="")
    color: Mapped[str] = mapped_column(String(6), default="")
    text_color: Mapped[str] = mapped_column(String(6), default="")
    sort_order: Mapped[int | None] = mapped_column(Integer)


class Trip(Base):
    __tablename__ = "mob_trips"
    __table_args__ = (
        UniqueConstraint("feed_id", "trip_id", name="uq_mob_trips_feed_trip"),
        Index("ix_mob_trips_route", "route_pk"),
        Index("ix_mob_trips_feed_service", "feed_id", "service_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    feed_id: Mapped[int] = mapped_column(ForeignKey("mob_feeds.id", ondelete="CASCADE"))
    trip_id: Mapped[str] = mapped_column(String(255))
    route_pk: Mapped[int] = mapped_column(Integer)  # mob_routes.id
    # The feed's service_id (calendar.txt / calendar_dates.txt of the same feed).
    service_id: Mapped[str] = mapped_column(String(255))
    headsign: Mapped[str] = mapped_column(String(300), default="")
    short_name: Mapped[str] = mapped_column(String(100), default="")
    direction_id: Mapped[int | None] = mapped_column(Integer)  # 0 or 1
    block_id: Mapped[str] = mapped_column(String(255), default="")
    shape_id: Mapped[str] = mapped_column(String(255), default="")
    wheelchair_accessible: Mapped[int] = mapped_column(Integer, default=0)
    bikes_allowed: Mapped[int] = mapped_column(Integer, default=0)


class StopTime(Base):
    """One stop of a trip. For a frequency-based trip, times are relative to its first departure."""

    __tablename__ = "mob_stop_times"
    __table_args__ = (Index("ix_mob_stop_times_stop", "stop_pk"),)

    # (trip_pk, stop_sequence) is the primary key and the planner's main index.
    trip_pk: Mapped[int] = mapped_column(Integer, primary_key=True)  # mob_trips.id
    stop_sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    stop_pk: Mapped[int] = mapped_column(Integer)  # mob_stops.id
    arrival: Mapped[int] = mapped_column(Integer)  # seconds after midnight of the service day
    departure: Mapped[int] = mapped_column(Integer)
    stop_headsign: Mapped[str] = mapped_column(String(300), default="")
    pickup_type: Mapped[int] = mapped_column(Integer, default=0)  # 0 regular, 1 none, 2 phone, 3 driver
    drop_off_type: Mapped[int] = mapped_column(Integer, default=0)
    timepoint: Mapped[int] = mapped_column(Integer, default=1)  # 0: time interpolated on import
    shape_dist_traveled: Mapped[float | None]


class Calendar(Base):
    """calendar.txt: a weekly pattern of a service between two dates (inclusive)."""

    __tablename__ = "mob_calendar"
    __table_args__ = (UniqueConstraint("feed_id", "service_id", name="uq_mob_calendar_feed_service"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    feed_id: Mapped[int] = mapped_column(ForeignKey("mob_feeds.id", ondelete="CASCADE"))
    service_id: Mapped[str] = mapped_column(String(255))
    monday: Mapped[bool] = mapped_column(Boolean)
    tuesday: Mapped[bool] = mapped_column(Boolean)
    wednesday: Mapped[bool] = mapped_column(Boolean)
    thursday: Mapped[bool] = mapped_column(Boolean)
    friday: Mapped[bool] = mapped_column(Boolean)
    saturday: Mapped[bool] = mapped_column(Boolean)
    sunday: Mapped[bool] = mapped_column(Boolean)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)


class CalendarDate(Base):
    """calendar_dates.txt: 1 = service added on that date, 2 = removed."""

    __tablename__ = "mob_calendar_dates"
    __table_args__ = (
        UniqueConstraint("feed_id", "service_id", "date", name="uq_mob_calendar_dates_feed_service_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    feed_id: Mapped[int] = mapped_column(ForeignKey("mob_feeds.id", ondelete="CASCADE"))
    service_id: Mapped[str] = mapped_column(String(255))
    date: Mapped[date] = mapped_column(Date)
    exception_type: Mapped[int] = mapped_column(Integer)


class Frequency(Base):
    """frequencies.txt: the trip runs every ``headway_secs`` from ``start`` to before ``end``."""

    __tablename__ = "mob_frequencies"
    __table_args__ = (Index("ix_mob_frequencies_trip", "trip_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    feed_id: Mapped[int] = mapped_column(ForeignKey("mob_feeds.id", ondelete="CASCADE"))
    trip_pk: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)  # seconds after midnight
    end: Mapped[int] = mapped_column(Integer)
    headway_secs: Mapped[int] = mapped_column(Integer)
    exact_times: Mapped[bool] = mapped_column(Boolean, default=False)


class Transfer(Base):
    """transfers.txt: 0 recommended, 1 timed, 2 needs ``min_transfer_time``, 3 not possible."""

    __tablename__ = "mob_transfers"
    __table_args__ = (Index("ix_mob_transfers_from", "from_stop_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    feed_id: Mapped[int] = mapped_column(ForeignKey("mob_feeds.id", ondelete="CASCADE"))
    from_stop_pk: Mapped[int] = mapped_column(Integer)
    to_stop_pk: Mapped[int] = mapped_column(Integer)
    transfer_type: Mapped[int] = mapped_column(Integer, default=0)
    min_transfer_time: Mapped[int | None] = mapped_column(Integer)
    # Optional narrowing to trips or routes (GTFS: a trip-to-trip rule beats a route rule beats a stop rule).
    from_route_pk: Mapped[int | None] = mapped_column(Integer)
    to_route_pk: Mapped[int | None] = mapped_column(Integer)
    from_trip_pk: Mapped[int | None] = mapped_column(Integer)
    to_trip_pk: Mapped[int | None] = mapped_column(Integer)


class FareAttribute(Base):
    """fare_attributes.txt (GTFS fares v1)."""

    __tablename__ = "mob_fare_attributes"
    __table_args__ = (UniqueConstraint("feed_id", "fare_id", name="uq_mob_fare_attributes_feed_fare"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    feed_id: Mapped[int] = mapped_column(ForeignKey("mob_feeds.id", ondelete="CASCADE"))
    fare_id: Mapped[str] = mapped_column(String(255))
    price: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    currency_type: Mapped[str] = mapped_column(String(3))
    payment_method: Mapped[int] = mapped_column(Integer)  # 0 on board, 1 before boarding
    transfers: Mapped[int | None] = mapped_column(Integer)  # NULL: unlimited
    agency_id: Mapped[str] = mapped_column(String(255), default="")
    transfer_duration: Mapped[int | None] = mapped_column(Integer)  # seconds


class FareRule(Base):
    """fare_rules.txt: when a fare applies (route, origin/destination/contained fare zones)."""

    __tablename__ = "mob_fare_rules"
    __table_args__ = (Index("ix_mob_fare_rules_fare", "fare_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    feed_id: Mapped[int] = mapped_column(ForeignKey("mob_feeds.id", ondelete="CASCADE"))
    fare_pk: Mapped[int] = mapped_column(Integer)  # mob_fare_attributes.id
    route_pk: Mapped[int | None] = mapped_column(Integer)
    origin_id: Mapped[str] = mapped_column(String(255), default="")  # zone_id of stops
    destination_id: Mapped[str] = mapped_column(String(255), default="")
    contains_id: Mapped[str] = mapped_column(String(255), default="")


class RealtimeTripUpdate(Base):
    """One GTFS-Realtime TripUpdate entry, as received (not tied to a feed: ids are the feed's strings).

    A trip-level row has ``stop_sequence`` and ``stop_id`` NULL and carries the trip's relationship
    (e.g. CANCELED); stop-level rows carry delays in seconds (positive = late) and a stop relationship
    (SCHEDULED, SKIPPED, NO_DATA). A new realtime message for a trip replaces that trip's rows.
    """

    __tablename__ = "mob_realtime_trip_updates"
    __table_args__ = (Index("ix_mob_realtime_trip_updates_trip", "trip_id", "start_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trip_id: Mapped[str] = mapped_column(String(255))
    route_id: Mapped[str] = mapped_column(String(255), default="")
    start_date: Mapped[date | None] = mapped_column(Date)  # service day; NULL: today's trip
    start_time: Mapped[str] = mapped_column(String(8), default="")  # frequency-based trips
    trip_relationship: Mapped[str] = mapped_column(String(16), default=SCHEDULED)
    stop_sequence: Mapped[int | None] = mapped_column(Integer)
    stop_id: Mapped[str | None] = mapped_column(String(255))
    arrival_delay: Mapped[int | None] = mapped_column(Integer)  # seconds
    departure_delay: Mapped[int | None] = mapped_column(Integer)
    # Absolute predicted times (POSIX seconds) when the message gives them instead of a delay.
    arrival_time: Mapped[int | None] = mapped_column(Integer)
    departure_time: Mapped[int | None] = mapped_column(Integer)
    relationship: Mapped[str] = mapped_column(String(16), default=SCHEDULED)  # of the stop time
    feed_timestamp: Mapped[datetime | None]  # FeedHeader.timestamp
    received_at: Mapped[datetime]


# Tables of one static feed, in load order (the importer and the tests use this list).
FEED_TABLES = (
    Agency,
    Stop,
    Route,
    Trip,
    StopTime,
    Calendar,
    CalendarDate,
    Frequency,
    Transfer,
    FareAttribute,
    FareRule,
)
ALL_TABLES = (Feed, *FEED_TABLES, RealtimeTripUpdate)
