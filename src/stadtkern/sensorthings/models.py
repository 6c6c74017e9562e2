"""Tables of the SensorThings data model (OGC 18-088 Part 1), one schema for SQLite and PostgreSQL.

Geometry is stored as GeoJSON with its bounding box in four float columns: the box is the index-friendly
prefilter for spatial filters on both databases; the exact test runs in PostGIS or, on SQLite, in Python
(shapely). Observation results are split by type so that numeric filters and aggregates run on a double
column. Personal Datastreams (household meters) are marked by ``access``; the rows of
``sta_observations`` are personal data only through them, which ``privacy.py`` covers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from stadtkern.db.base import Base

# Observation id: BIGINT on PostgreSQL, the rowid alias (INTEGER PRIMARY KEY) on SQLite.
ObservationId = BigInteger().with_variant(Integer(), "sqlite")

ACCESS_LEVELS = ("public", "internal", "personal")


class GeoColumns:
    """GeoJSON plus its bounding box (WGS 84 lon/lat)."""

    min_x: Mapped[float | None] = mapped_column(Float)
    min_y: Mapped[float | None] = mapped_column(Float)
    max_x: Mapped[float | None] = mapped_column(Float)
    max_y: Mapped[float | None] = mapped_column(Float)


class Thing(Base):
    __tablename__ = "sta_things"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    properties: Mapped[dict[str, Any] | None]


class Location(GeoColumns, Base):
    __tablename__ = "sta_locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(100))
    location: Mapped[dict[str, Any]]
    properties: Mapped[dict[str, Any] | None]


class ThingLocation(Base):
    __tablename__ = "sta_thing_locations"

    thing_id: Mapped[int] = mapped_column(ForeignKey("sta_things.id", ondelete="CASCADE"), primary_key=True)
    location_id: Mapped[int] = mapped_column(
        ForeignKey("sta_locations.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class HistoricalLocation(Base):
    __tablename__ = "sta_historical_locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    thing_id: Mapped[int] = mapped_column(ForeignKey("sta_things.id", ondelete="CASCADE"), index=True)
    time: Mapped[datetime]


class HistoricalLocationLocation(Base):
    __tablename__ = "sta_historical_location_locations"

    historical_location_id: Mapped[int] = mapped_column(
        ForeignKey("sta_historical_locations.id", ondelete="CASCADE"), primary_key=True
    )
    location_id: Mapped[int] = mapped_column(
        ForeignKey("sta_locations.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Sensor(Base):
    __tablename__ = "sta_sensors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(100))
    # Any value (a URL, a document, a JSON object); kept as JSON so every kind round-trips.
    sensor_metadata: Mapped[Any] = mapped_column("metadata", type_=Base.type_annotation_map[dict[str, Any]])
    properties: Mapped[dict[str, Any] | None]


class ObservedProperty(Base):
    __tablename__ = "sta_observed_properties"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    definition: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    properties: Mapped[dict[str, Any] | None]


class StreamColumns:
    """What Datastreams and MultiDatastreams share, including Stadtkern's access and retention rules."""

    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    observation_type: Mapped[str] = mapped_column(String(200))
    observed_area: Mapped[dict[str, Any] | None]
    phenomenon_time_start: Mapped[datetime | None]
    phenomenon_time_end: Mapped[datetime | None]
    result_time_start: Mapped[datetime | None]
    result_time_end: Mapped[datetime | None]
    properties: Mapped[dict[str, Any] | None]
    # public | internal (staff) | personal (owner and staff of the operating organisation, reads audited)
    access: Mapped[str] = mapped_column(String(16), default="public")
    organisation: Mapped[str | None] = mapped_column(String(64))
    owner_user_id: Mapped[int | None] = mapped_column(index=True)
    retention_days: Mapped[int | None]
    # Re-sent observations with the same client id are stored once (costs an index lookup per insert).
    deduplicate: Mapped[bool] = mapped_column(default=False)


class Datastream(StreamColumns, Base):
    __tablename__ = "sta_datastreams"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_of_measurement: Mapped[dict[str, Any]]
    thing_id: Mapped[int] = mapped_column(ForeignKey("sta_things.id", ondelete="CASCADE"), index=True)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("sta_sensors.id", ondelete="CASCADE"), index=True)
    observed_property_id: Mapped[int] = mapped_column(
        ForeignKey("sta_observed_properties.id", ondelete="CASCADE"), index=True
    )


class MultiDatastream(StreamColumns, Base):
    __tablename__ = "sta_multi_datastreams"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_of_measurements: Mapped[list[dict[str, Any]]]
    multi_observation_data_types: Mapped[list[dict[str, Any]]]
    thing_id: Mapped[int] = mapped_column(ForeignKey("sta_things.id", ondelete="CASCADE"), index=True)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("sta_sensors.id", ondelete="CASCADE"), index=True)


class MultiDatastreamObservedProperty(Base):
    __tablename__ = "sta_multi_datastream_observed_properties"

    multi_datastream_id: Mapped[int] = mapped_column(
        ForeignKey("sta_multi_datastreams.id", ondelete="CASCADE"), primary_key=True
    )
    observed_property_id: Mapped[int] = mapped_column(
        ForeignKey("sta_observed_properties.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    rank: Mapped[int]


class FeatureOfInterest(GeoColumns, Base):
    __tablename__ = "sta_features_of_interest"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    encoding_type: Mapped[str] = mapped_column(String(100))
    feature: Mapped[dict[str, Any]]
    properties: Mapped[dict[str, Any] | None]
    # Set when the feature was generated from a Thing's Location, so that later Observations reuse it.
    # One generated feature per Location: concurrent first observations must not create two.
    generated_from_location_id: Mapped[int | None] = mapped_column(index=True, unique=True)


# result_type: how ``result`` is stored and given back.
RESULT_FLOAT, RESULT_INT, RESULT_BOOL, RESULT_STRING, RESULT_JSON, RESULT_NULL = range(6)


class Observation(Base):
    """No foreign keys on this hot table: integrity is checked by the ingest, which keeps COPY possible."""

    __tablename__ = "sta_observations"
    __table_args__ = (
        Index("ix_sta_observations_datastream_time", "datastream_id", "phenomenon_time"),
        # Partial: most observations belong to plain Datastreams and need no entry here.
        Index(
            "ix_sta_observations_multi_datastream_time",
            "multi_datastream_id",
            "phenomenon_time",
            sqlite_where=text("multi_datastream_id IS NOT NULL"),
            postgresql_where=text("multi_datastream_id IS NOT NULL"),
        ),
        Index("ix_sta_observations_feature", "feature_of_interest_id"),
    )

    id: Mapped[int] = mapped_column(ObservationId, primary_key=True, autoincrement=True)
    datastream_id: Mapped[int | None]
    multi_datastream_id: Mapped[int | None]
    feature_of_interest_id: Mapped[int | None]
    phenomenon_time: Mapped[datetime]
    phenomenon_time_end: Mapped[datetime | None]
    result_time: Mapped[datetime | None]
    result_type: Mapped[int] = mapped_column(default=RESULT_FLOAT)
    result_number: Mapped[float | None] = mapped_column(Float)
    result_string: Mapped[str | None] = mapped_column(Text)
    result_json: Mapped[Any | None] = mapped_column(type_=Base.type_annotation_map[dict[str, Any]])
    result_quality: Mapped[Any | None] = mapped_column(type_=Base.type_annotation_map[dict[str, Any]])
    valid_time_start: Mapped[datetime | None]
    valid_time_end: Mapped[datetime | None]
    parameters: Mapped[dict[str, Any] | None]
    client_key: Mapped[str | None] = mapped_column(String(200))


class LatestObservation(Base):
    """The newest Observation per Datastream, kept by the ingest: dashboards read it without a scan."""

    __tablename__ = "sta_latest_observations"

    datastream_id: Mapped[int] = mapped_column(primary_key=True)
    observation_id: Mapped[int] = mapped_column(ObservationId)
    phenomenon_time: Mapped[datetime]
    result_type: Mapped[int]
    result_number: Mapped[float | None] = mapped_column(Float)
    result_string: Mapped[str | None] = mapped_column(Text)
    result_json: Mapped[Any | None] = mapped_column(type_=Base.type_annotation_map[dict[str, Any]])


class ApiKey(Base):
    """A write key for sensors and gateways, checked with a keyed hash (microseconds, not a password hash).

    ``scope`` lists the Things and Datastreams the key may write to; an empty scope allows all.
    """

    __tablename__ = "sta_api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    created_by: Mapped[int | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


# Typed handles on the tables for SQL Core statements.
THINGS = _table(Thing)
LOCATIONS = _table(Location)
THING_LOCATIONS = _table(ThingLocation)
HISTORICAL_LOCATIONS = _table(HistoricalLocation)
HISTORICAL_LOCATION_LOCATIONS = _table(HistoricalLocationLocation)
SENSORS = _table(Sensor)
OBSERVED_PROPERTIES = _table(ObservedProperty)
DATASTREAMS = _table(Datastream)
MULTI_DATASTREAMS = _table(MultiDatastream)
MULTI_DATASTREAM_OBSERVED_PROPERTIES = _table(MultiDatastreamObservedProperty)
FEATURES = _table(FeatureOfInterest)
OBSERVATIONS = _table(Observation)
LATEST = _table(LatestObservation)
API_KEYS = _table(ApiKey)
